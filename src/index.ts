/**
 * statechart-conductor: supervise CLI agent sessions as XState v5 actors.
 *
 * Two ways in: the seed-compatible facade (`createConductor`) and the XState-native pieces
 * (the machines, the actor logic, the types) to compose into your own actor system.
 */
export {
  createConductor,
  type Conductor,
  type ConductorEventName,
  type ConductorEventPayloads,
  type EventTime,
} from "./conductor.js";
export {
  EVENT_LOG_VERSION,
  RENAMED_EVENTS,
  upgradeEventLogLine,
} from "./event-log-format.js";
export type { ProbeVerdict } from "./conductor-probes.js";
export type { Listener as ConductorListener } from "./conductor-events.js";
export type { ConductorOptions, ProbeOptions, RestartOptions, SpawnConfig } from "./conductor-options.js";
export {
  ConductorError,
  ConfigError,
  OptionsError,
  SessionError,
  type ConductorErrorCode,
  type ConfigIssue,
} from "./errors.js";
// Subclasses of ConductorError (ConfigError for the two files), exported for `instanceof` checks.
export { AccountsConfigError, type AccountsConfigIssue } from "./accounts-config-issues.js";
export { HostsConfigError } from "./hosts-config.js";
export { BrokerStoreError } from "./broker-store.js";
export { MAX_TIMER_MS, SESSION_ID_PATTERN } from "./schema/primitives.js";
export type { SessionHealth, SessionSnapshot } from "./session-view.js";

// XState-native API
export {
  sessionMachine,
  type SessionContext,
  type SessionEmitted,
  type SessionEvent,
  type SessionInput,
  type SessionMachine,
  type SessionOutput,
} from "../machines/session.machine.js";
export {
  conductorMachine,
  sessionSystemId,
  type ConductorContext,
  type ConductorEmitted,
  type ConductorEvent,
  type ConductorInput,
  type ConductorMachine,
  type RemotePlacement,
  type SessionPlacement,
} from "../machines/conductor.machine.js";
export {
  DEFAULT_POLICY,
  backoffDelay,
  resolvePolicy,
  type PolicyOverrides,
  type ProbePolicy,
  type RestartPolicy,
  type SessionPolicy,
} from "../machines/session.policy.js";
export {
  FINAL_STATES,
  STATES,
  type ChildCommand,
  type ChildEvent,
  type ChildSpec,
  type FailureMode,
  type PtyProcessInput,
  type SessionState,
} from "../machines/session.types.js";
export { FIXED_TRANSITIONS, SEED_TRANSITIONS, allowedTransitions } from "../machines/transition-table.js";
// The account broker as an actor of your own system (docs/accounts.md): its machine, its input
// from an accounts file, and its state file.
export {
  brokerMachine,
  nextAvailableEta,
  type BrokerEmitted,
  type BrokerEvent,
  type BrokerInput,
  type BrokerMachine,
  type BrokerReply,
  type BrokerSnapshot,
  type Lease,
} from "../machines/broker.machine.js";
export { parseRetryHint } from "../machines/retry-hint.js";
export {
  brokerInputOf,
  loadAccountsConfig,
  parseAccountsConfig,
  type AccountConfig,
  type AccountsConfig,
} from "./accounts-config.js";
export {
  applyBrokerEvent,
  createBrokerStore,
  persistsBrokerEvent,
  syncEventOf,
  type BrokerState,
  type BrokerStore,
  type BrokerStoreOptions,
} from "./broker-store.js";
export { DEFAULT_INPUT_WAIT_PATTERNS, classifyFailure, matchInputWait } from "../machines/classify-output.js";
export { createPtyProcessLogic } from "../actors/pty-process.js";
export { createProcessReaper, type ProcessReaper, type ReapResult } from "../actors/process-reaper.js";

// Building blocks
export {
  createEventLog,
  readEventLog,
  redactEnv,
  describeArgv,
  type EventLog,
  type EventLogLine,
} from "./event-log.js";
export {
  buildLaunch,
  buildLaunchSync,
  planLaunch,
  resolveOnPath,
  LaunchError,
  SUPPORTED_AGENTS,
  type LaunchOptions,
  type LaunchSpec,
} from "./launcher.js";
export {
  createConductorRegistry,
  ensureConductorRegistry,
  getConductorRegistry,
  sendInputToConductorSession,
  setConductorRegistry,
  type ConductorRegistry,
  type SendInputResult,
} from "./conductor-registry.js";
export {
  createAccountBroker,
  type AccountBroker,
  type AccountBrokerOptions,
  type ReleaseOptions,
  type SeedLease,
} from "./broker/account-broker.js";
export {
  createMeshRegistry,
  createConductorMeshBridge,
  type MeshAgent,
  type MeshAgentDetails,
  type MeshMessage,
  type MeshRegistry,
} from "./mesh-registry.js";
export { parseRunConfig, loadRunConfig, type RunConfig } from "./config.js";
export { listMoves, toMermaid } from "./machine-graph.js";
