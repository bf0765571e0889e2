/** The words of the fake model's answer, the same for each vendor's API (its body shape aside). */
import { sayText } from "./say.js";
import { OK_TEXT, type Scenario, slowWords } from "./scenario.js";
import { TOOL_FAIL_DONE } from "./tool-calls.js";

/** `slow`: a word per tick; `say`: the text its prompt picks; `toolfail`: after the failed tool; else OK. */
export function answerWords(scenario: Scenario, body: unknown): string[] {
  if (scenario.name === "slow") return slowWords(scenario.seconds);
  if (scenario.name === "say") return [sayText(body)];
  if (scenario.name === "toolfail") return [TOOL_FAIL_DONE];
  return [OK_TEXT];
}
