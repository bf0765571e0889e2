/**
 * Test helpers shipped to users: model-based paths through the session (and conductor)
 * statecharts with `xstate/graph`, and transition coverage measured on real actors through
 * XState's inspection API. See docs/testing.md.
 */
export {
  coverageReport,
  describeTransition,
  machineStates,
  machineTransitions,
  recordTransitions,
  transitionKey,
  type CoverageReport,
  type TakenStep,
  type TransitionInfo,
  type TransitionRecorder,
} from "./coverage.js";
export {
  buildModelGraph,
  edgeCoverPaths,
  predictTransition,
  selectCovering,
  withPrediction,
  type ModelEdge,
  type ModelGraph,
  type ModelOptions,
  type ModelPath,
} from "./paths.js";
export {
  describeSessionEvent,
  serializeSessionState,
  sessionModelEvents,
  sessionModelInput,
  sessionPaths,
  sessionTestModel,
  type SessionModelOptions,
  type SessionModelPath,
  type SessionPathsResult,
  type SessionSnapshotValue,
} from "./session-model.js";
export { followActor, runPool, type ActorFollower, type FollowOptions, type PoolResult } from "./runner.js";
export {
  arrivals,
  isTimerStep,
  LONG_TIMERS,
  MODEL_RUN_POLICY,
  nextDue,
  planTimers,
  type TimerPlan,
} from "./timer-plan.js";
export {
  conductorModelEvents,
  conductorModelLogic,
  conductorPaths,
  describeConductorEvent,
  serializeConductorState,
  type ConductorModelEvent,
  type ConductorModelPath,
  type ConductorSnapshotValue,
} from "./conductor-model.js";
export { createAgentHub, type AgentHub, SCRIPTED_AGENT } from "./agent-hub.js";
export { freePort, killTmuxServer, startSshd, type TestSshd } from "./sshd.js";
