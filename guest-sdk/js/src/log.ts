/**
 * Structured log lines, recorded in the firing's entry of the event log.
 * `console.log` and friends go to the log too (the component has no stdio).
 * The host keeps a bounded number of lines per firing and counts the rest.
 */
import { log as witLog } from "petrel:transition/log@0.1.0";

/** How important a line is. */
export type Level = "trace" | "debug" | "info" | "warn" | "error";

/** Records one line at `level`. */
export function log(level: Level, message: string): void {
  witLog(level, String(message));
}

/** Records one line at `trace`. */
export const trace = (message: string): void => log("trace", message);
/** Records one line at `debug`. */
export const debug = (message: string): void => log("debug", message);
/** Records one line at `info`. */
export const info = (message: string): void => log("info", message);
/** Records one line at `warn`. */
export const warn = (message: string): void => log("warn", message);
/** Records one line at `error`. */
export const error = (message: string): void => log("error", message);

const show = (args: unknown[]): string =>
  args.map((a) => (typeof a === "string" ? a : safeJson(a))).join(" ");

function safeJson(value: unknown): string {
  try {
    return JSON.stringify(value) ?? String(value);
  } catch {
    return String(value);
  }
}

const levels: Array<[keyof Console, Level]> = [
  ["log", "info"],
  ["info", "info"],
  ["debug", "debug"],
  ["trace", "trace"],
  ["warn", "warn"],
  ["error", "error"],
];
const console_ = (globalThis as { console?: Record<string, unknown> }).console;
if (console_ !== undefined) {
  for (const [name, level] of levels) {
    console_[name] = (...args: unknown[]) => log(level, show(args));
  }
}
