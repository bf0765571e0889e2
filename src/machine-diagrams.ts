/**
 * The statecharts whose diagrams are generated (`npm run diagrams`: docs/diagrams/<name>.mmd) and
 * the document each one is embedded in. One list for the writer (src/cli/write-diagrams.ts) and for
 * the test that fails when a committed copy is stale (test/session.table.test.ts).
 */
import type { AnyStateMachine } from "xstate";
import { childRunMachine } from "../machines/child-run.machine.js";
import { conductorMachine } from "../machines/conductor.machine.js";
import { sessionMachine } from "../machines/session.machine.js";
import { tmuxChannelMachine } from "../machines/tmux-channel.machine.js";

export interface MachineDiagram {
  name: string;
  machine: AnyStateMachine;
  /** Repository path of the document whose mermaid block is this diagram. */
  embeddedIn: string;
}

export const MACHINE_DIAGRAMS: readonly MachineDiagram[] = [
  { name: "session", machine: sessionMachine, embeddedIn: "README.md" },
  { name: "conductor", machine: conductorMachine, embeddedIn: "docs/architecture.md" },
  { name: "child-run", machine: childRunMachine, embeddedIn: "docs/architecture.md" },
  { name: "tmux-channel", machine: tmuxChannelMachine, embeddedIn: "docs/remote.md" },
];
