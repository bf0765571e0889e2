import xterm from "@xterm/headless";

/** What a terminal that parsed every byte at once shows: rows as ScreenTail.screen() reports them, and the title. */
export async function fullParse(data: Buffer, cols: number, rows: number) {
  const t = new xterm.Terminal({ cols, rows, scrollback: 0, allowProposedApi: true });
  let title: string | null = null;
  t.onTitleChange((x) => {
    title = x === "" ? null : x;
  });
  await new Promise<void>((r) => t.write(data, r));
  const buf = t.buffer.active;
  const screen: string[] = [];
  for (let y = buf.baseY; y < buf.baseY + rows; y++)
    screen.push(buf.getLine(y)?.translateToString(true).trimEnd() ?? "");
  while (screen.length > 0 && screen[screen.length - 1] === "") screen.pop();
  t.dispose();
  return { screen, title };
}
