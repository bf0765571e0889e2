/** What the screen actor reads after `bytes` (a real headless terminal at 120×40): screen, inks, title. */
import { ScreenTail } from "../../actors/screen-tail.js";

export async function screenReading(bytes: string) {
  const tail = new ScreenTail({ cols: 120, rows: 40 });
  await tail.write(Buffer.from(bytes));
  const r = tail.reading();
  tail.dispose();
  return r;
}
