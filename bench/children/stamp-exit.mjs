// Exit probe: stamps the wall clock as its last act, then exits with argv[2] (default 0).
process.stdout.write(`T${(performance.timeOrigin + performance.now()).toFixed(3)}\n`, () =>
  process.exit(Number(process.argv[2] ?? 0)),
);
