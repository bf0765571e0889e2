/**
 * A parent machine that invokes one actor logic as child `id`, records every event the child sends
 * back and wakes `listeners` on each (the pty, transport and remote tests' harnesses build on it).
 */
import { type AnyActorLogic, createActor, type EventObject, setup } from "xstate";

export function hostActor<E extends EventObject>(
  id: string,
  logic: AnyActorLogic,
  input: unknown,
  onEvent?: (event: E) => void,
) {
  const events: E[] = [];
  const listeners = new Set<() => void>();
  // Typed loosely inside: xstate's transition types do not resolve a generic event type.
  const parent = setup({ types: { events: {} as EventObject }, actors: { hosted: logic } }).createMachine({
    invoke: { id, src: "hosted", input },
    on: {
      "*": {
        actions: ({ event }) => {
          onEvent?.(event as E);
          events.push(event as E);
          for (const l of listeners) l();
        },
      },
    },
  });
  const actor = createActor(parent).start();
  const send = (command: EventObject) => actor.getSnapshot().children[id]?.send(command);
  return { actor, events, listeners, send };
}
