// Demo agent: does some work, then asks a y/n question and waits on stdin (line mode, so it
// works on a pipe and on a pty). "y" → apply and exit 0; anything else → exit 1.
import { createInterface } from "node:readline";

console.log("[asker] scanning schema…");
console.log("[asker] 3 pending migrations found");
setTimeout(() => {
  process.stdout.write("Apply the database migration? (y/n) ");
  const rl = createInterface({ input: process.stdin });
  let answered = false;
  const finish = (answer) => {
    if (answered) return;
    answered = true;
    rl.close();
    if (answer.trim().toLowerCase() === "y") {
      console.log("\n[asker] applying…");
      console.log("[asker] 001_users ok");
      console.log("[asker] 002_orders ok");
      console.log("[asker] 003_indexes ok");
      process.exit(0);
    }
    console.log(`\n[asker] not applying (answer: ${JSON.stringify(answer.trim())})`);
    process.exit(1);
  };
  rl.on("line", finish);
  rl.on("close", () => finish("")); // stdin closed without an answer
}, 300);
