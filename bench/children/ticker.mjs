// Load probe: one short line every argv[2] ms, forever (until killed).
const every = Number(process.argv[2] ?? 1000);
let n = 0;
setInterval(() => process.stdout.write(`tick ${n++}\n`), every);
