// Demo agent for account fail-over: account "a" is rate limited (with a retry hint), account "b" works.
// The conductor gives it the leased account through env FAKE_ACCOUNT (demo/accounts.json, mode "env").
const account = process.env.FAKE_ACCOUNT || "(none)";
console.log(`[limited-once] running on account ${account}`);
if (account === "a") {
  setTimeout(() => {
    console.error("Error: 429 Too Many Requests. Try again in 3 seconds.");
    process.exit(1);
  }, 200);
} else if (account === "b") {
  console.log("[limited-once] working…");
  setTimeout(() => {
    console.log("[limited-once] done");
    process.exit(0);
  }, 300);
} else {
  console.error("[limited-once] no account leased (FAKE_ACCOUNT is not set)");
  process.exit(2);
}
