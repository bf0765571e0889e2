/**
 * The spawn helper's Perl program, its first choice (spawn-helper.ts): with 500 children it keeps
 * ~3 MB of its own memory where the Node program kept ~10 (bench/scale.mjs counts the helper's
 * private memory in the supervisor's), and it is ready in milliseconds where a Node start takes 50 ms
 * idle and seconds under load (node-pty forks on the conductor's thread meanwhile). It uses only
 * modules of Debian's perl-base (POSIX, Errno, Config), which no Debian system is without; where it
 * cannot start, the Node program is started instead. spawn-helper-protocol.ts says what it reads and
 * answers.
 * - The tty is opened O_NOCTTY: the helper leads its own session, and a session leader without a
 *   terminal that opens one takes it as its controlling terminal; the first child's
 *   `setsid --ctty` then failed with EPERM for every user but root (who may steal it).
 * - The tty becomes the child's stdin/out/err. Perl opens every file above fd 2 close-on-exec
 *   ($^F), so neither the helper's copy of the tty nor the pipe an exec failure is reported on
 *   reaches any child.
 * - An exec or chdir that fails in the child is reported back on that pipe, as Node's spawn does:
 *   `spawn <file> <ERRNO>`.
 * - A child's exit wakes the select() through the child's pidfd (pidfd_open(2), Linux 5.3; its number
 *   is 434 on every architecture): readable once the child ended, whenever its SIGCHLD came. Perl
 *   runs a signal's handler between its ops, so a SIGCHLD in the instant before select() is entered
 *   woke nothing, and the helper ticked every 20 ms while children ran (2–3 ms of CPU a second, a
 *   soak). A child without a pidfd (an older kernel, a seccomp filter, no fd left) keeps that tick.
 * - Perl sets no SA_RESTART under its safe signals: a read or write that a SIGCHLD interrupts fails
 *   with EINTR and is made again (a failed answer would end the helper, and with it every child).
 * - INT/HUP/TERM/QUIT are caught, not ignored, so that a child gets them back at their defaults.
 * - Named by its first line, which `ps` shows after `perl -e`: setting $0 would overwrite the
 *   environment's memory too (Perl lengthens $0 into it where it follows argv), blanking
 *   /proc/<pid>/environ, which is how tools (and our tests) tell whose process it is.
 */
export const SPAWN_HELPER_PERL = String.raw`# conductor-spawn-helper
use strict;
use POSIX ();
use Errno ();
use Config;
$SIG{$_} = sub {} for qw(INT HUP TERM QUIT CHLD);
my @signame = split ' ', $Config{sig_name};
my (%runs, %pidfd, @fields);
my $in = '';
sub say_ {
  my $line = "$_[0]\n";
  while (length $line) {
    my $n = syswrite STDOUT, $line;
    if (!defined $n) { next if $!{EINTR}; POSIX::_exit(0) }
    substr($line, 0, $n) = '';
  }
}
sub errname { local $! = $_[0]; for (keys %!) { return $_ if $!{$_} } "errno $_[0]" }
sub start {
  my ($id, $tty, $cwd, $file, $argc, @rest) = @_;
  my @args = splice @rest, 0, $argc;
  shift @rest;
  my $t;
  unless (sysopen $t, $tty, POSIX::O_RDWR() | POSIX::O_NOCTTY()) {
    my ($e, $text) = ($! + 0, "$!");
    return say_("error $id " . errname($e) . ": " . lcfirst($text) . ", open '$tty'");
  }
  pipe my $r, my $w or return say_("error $id pipe: $!");
  my $pid = fork;
  return say_("error $id spawn $file " . errname($! + 0)) unless defined $pid;
  if ($pid == 0) {
    close $r;
    POSIX::dup2(fileno $t, $_) for 0 .. 2;
    if (chdir $cwd) {
      %ENV = map { split /=/, $_, 2 } @rest;
      exec { $file } $file, @args;
    }
    syswrite $w, $! + 0;
    POSIX::_exit(127);
  }
  close $w;
  close $t;
  my ($got, $errno);
  1 while !defined($got = sysread $r, $errno, 16) && $!{EINTR};
  close $r;
  if ($got) {
    waitpid $pid, 0;
    return say_("error $id spawn $file " . errname($errno));
  }
  $runs{$pid} = $id;
  my $fd = syscall(434, $pid, 0);
  $pidfd{$pid} = $fd if $fd >= 0;
  say_("pid $id $pid");
}
sub reap {
  while ((my $pid = waitpid(-1, POSIX::WNOHANG())) > 0) {
    POSIX::close(delete $pidfd{$pid}) if exists $pidfd{$pid};
    my $id = delete $runs{$pid};
    next unless defined $id;
    my $st = $?;
    say_($st & 127 ? "exit $id - SIG$signame[$st & 127]" : "exit $id " . ($st >> 8) . " -");
  }
}
say_('ready');
while (1) {
  reap();
  my $rin = '';
  vec($rin, $_, 1) = 1 for 0, values %pidfd;
  my $tick = scalar(keys %runs) > scalar(keys %pidfd) ? 0.02 : undef;
  next if select(my $rout = $rin, undef, undef, $tick) <= 0;
  next unless vec($rout, 0, 1);
  my $got = sysread STDIN, my $chunk, 65536;
  next if !defined $got && $!{EINTR};
  POSIX::_exit(0) unless $got;
  my @parts = split /\0/, $in . $chunk, -1;
  $in = pop @parts;
  push @fields, @parts;
  while (@fields >= 6) {
    my $argc = $fields[4];
    last if @fields < 6 + $argc;
    my $n = 6 + $argc + $fields[5 + $argc];
    last if @fields < $n;
    start(splice @fields, 0, $n);
  }
}
`;
