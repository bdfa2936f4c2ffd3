import { Decision } from "./decision";
import { PetrelError } from "./error";
import { Compensated, Firing, Token } from "./firing";

interface WitToken {
  place: string;
  payload: Uint8Array;
}

interface WitFiring {
  net: string;
  version: string;
  transition: string;
  caseId: string;
  attempt: number;
  inputs: WitToken[];
  compensating?: { transition: string; outcome: string; outputs: WitToken[] };
}

type WitDecision =
  | { tag: "fire"; val: { outcome: string; outputs: WitToken[] } }
  | { tag: "decline" }
  | { tag: "abort"; val: string };

const token = (t: WitToken): Token => new Token(t.place, t.payload);

/**
 * Makes `decide` the component's export; export the result as `decide`:
 *
 * ```ts
 * export const decide = transition((firing) => Decision.decline());
 * ```
 *
 * A `PetrelError` thrown fails the firing (retried if retryable); any other
 * exception is a fatal error naming it.
 */
export function transition(decide: (firing: Firing) => Decision): (firing: WitFiring) => WitDecision {
  return (wit: WitFiring): WitDecision => {
    try {
      const c = wit.compensating;
      const firing = new Firing({
        transition: wit.transition,
        inputs: wit.inputs.map(token),
        net: wit.net,
        version: wit.version,
        caseId: wit.caseId,
        attempt: wit.attempt,
        compensated: c ? new Compensated(c.transition, c.outcome, c.outputs.map(token)) : undefined,
      });
      const decision = decide(firing);
      if (!(decision instanceof Decision)) {
        throw PetrelError.fatal(
          "decide returned something that is not a Decision (return Decision.fire(outcome), Decision.decline() or Decision.abort(reason))",
        );
      }
      switch (decision.kind) {
        case "fire":
          return {
            tag: "fire",
            val: {
              outcome: decision.outcome as string,
              outputs: decision.outputs.map((t) => ({ place: t.place, payload: t.payload })),
            },
          };
        case "abort":
          return { tag: "abort", val: decision.reason as string };
        default:
          return { tag: "decline" };
      }
    } catch (err) {
      if (err instanceof PetrelError) {
        throw { payload: { message: err.message, retryable: err.retryable } };
      }
      const name = err instanceof Error ? err.name : typeof err;
      const message = err instanceof Error ? err.message : String(err);
      throw { payload: { message: `uncaught ${name}: ${message}`, retryable: false } };
    }
  };
}
