/** The throwaway sshd lives in the shipped testing helpers (statechart-conductor/testing). */
export { freePort, killTmuxServer, startSshd, type TestSshd } from "../../src/testing/sshd.js";
