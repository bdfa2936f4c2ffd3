/**
 * Write Petrel transitions in TypeScript or JavaScript: the same shape as the
 * Rust SDK.
 *
 * ```ts
 * import { Decision, Firing, log, transition } from "petrel-guest";
 *
 * interface Order { order_id: string; amount_cents: number }
 *
 * export const decide = transition((firing: Firing): Decision => {
 *   const order = firing.input<Order>("credit_check");
 *   log.info(`checking ${order.order_id}`);
 *   return order.amount_cents <= 100_000
 *     ? Decision.fire("ok").token("credit_ok", order)
 *     : Decision.fire("refused").token("credit_refused", order);
 * });
 * ```
 *
 * `petrel build` bundles the module with this SDK and `@msgpack/msgpack`
 * (esbuild) and makes a component with componentize-js, every WASI feature
 * disabled: the component imports no WASI at all (no files, sockets,
 * environment, clocks or OS randomness), only `log` and, where the net grants
 * it, `llm`.
 */

export { Decision } from "./decision";
export { PetrelError, type PetrelErrorOptions } from "./error";
export { Compensated, Firing, Token } from "./firing";
export { transition } from "./export";
export * as log from "./log";
export * as llm from "./llm";
