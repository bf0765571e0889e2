// Demo agent: does a little work, then fails the way a rate-limited agent does.
console.log("[ratelimited] connecting to the model API…");
console.log("[ratelimited] sending request 1/3");
setTimeout(() => {
  console.error("Error: 429 Too Many Requests — rate limit reached for this account. Try again in 1 second.");
  process.exit(1);
}, 300);
