/**
 * A conductor in a process of its own (test/fixtures/remote-orphan-embedder.mjs) with one remote
 * session whose agent (`sleep 300`, marked) runs in tmux on the test's sshd: resolves once the agent
 * runs. For the tests that kill that process and watch what the remote side does about it.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { fileURLToPath } from "node:url";
import { expect } from "vitest";
import { waitMarked } from "./marked.js";

const EMBEDDER = fileURLToPath(new URL("../fixtures/remote-orphan-embedder.mjs", import.meta.url));

export interface RemoteEmbedderOptions {
  logsDir: string;
  hostsFile: string;
  socket: string;
  mark: string;
  hostDownMs: number;
  id: string;
  /** A bound for the agent to appear (never a verdict). */
  boundMs: number;
  /** The spawned process goes here, for the test's cleanup. */
  children: ChildProcess[];
}

export async function startRemoteEmbedder(o: RemoteEmbedderOptions) {
  const args = [EMBEDDER, o.logsDir, o.hostsFile, o.socket, o.mark, String(o.hostDownMs), o.id];
  const child = spawn(process.execPath, args, { stdio: ["ignore", "pipe", "inherit"] });
  o.children.push(child);
  const exited = new Promise<void>((r) => child.on("exit", () => r()));
  await new Promise<void>((resolve, reject) => {
    child.on("error", reject);
    child.on("exit", (code) => reject(new Error(`embedder exited (${code}) before its agent ran`)));
    child.stdout?.on("data", (d: Buffer) => String(d).includes("ready") && resolve());
  });
  const running = await waitMarked(o.mark, (_n, list) => list.some((p) => p.comm === "sleep"), o.boundMs);
  expect(running.filter((p) => p.comm === "sleep")).toHaveLength(1);
  return { child, exited };
}
