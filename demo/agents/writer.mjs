// Demo agent: steady progress for about 3 s, then a summary and exit 0 (the happy path).
const steps = [
  "reading sources",
  "outlining",
  "drafting section 1",
  "drafting section 2",
  "drafting section 3",
  "checking links",
  "tightening prose",
  "formatting",
  "final read",
  "writing summary",
];
let i = 0;
const timer = setInterval(() => {
  const step = steps[i++];
  console.log(`[writer] ${String(i).padStart(2)}/${steps.length} ${step}…`);
  if (i === steps.length) {
    clearInterval(timer);
    console.log("[writer] summary: 3 sections, 1,204 words, 0 broken links");
    process.exit(0);
  }
}, 300);
