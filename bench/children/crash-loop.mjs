// Restart probe: stamps its first line, lives briefly, stamps its exit line, exits 1.
const now = () => (performance.timeOrigin + performance.now()).toFixed(3);
process.stdout.write(`F${now()}\n`);
setTimeout(
  () => {
    process.stdout.write(`X${now()}\n`, () => process.exit(1));
  },
  Number(process.argv[2] ?? 30),
);
