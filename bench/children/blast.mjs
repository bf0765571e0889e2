// Throughput probe: writes argv[2] MiB of 100-byte lines to stdout as fast as the reader takes them.
const total = Number(process.argv[2] ?? 200) * 1024 * 1024;
const line = `${"x".repeat(99)}\n`;
const chunk = line.repeat(640); // 64 000 bytes
let sent = 0;
function pump() {
  while (sent < total) {
    sent += chunk.length;
    if (!process.stdout.write(chunk)) return process.stdout.once("drain", pump);
  }
  process.stdout.write("", () => process.exit(0));
}
pump();
