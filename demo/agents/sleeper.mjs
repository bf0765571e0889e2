// Demo agent: hangs silently on its first attempt (a stalled agent), finishes normally on a
// restart. CONDUCTOR_ATTEMPT (1-based) is set by the conductor.
const attempt = Number(process.env.CONDUCTOR_ATTEMPT ?? "1");
console.log(`[sleeper] attempt ${attempt}: starting`);
console.log("[sleeper] loading context…");
if (attempt < 2) {
  console.log("[sleeper] waiting on a response that will never come");
  setInterval(() => {}, 60_000); // keep the process alive without output
} else {
  setTimeout(() => {
    console.log("[sleeper] got the response, wrapping up");
    console.log("[sleeper] done");
    process.exit(0);
  }, 500);
}
