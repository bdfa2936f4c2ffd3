/**
 * Language-model calls, made by the host on the guest's behalf.
 *
 * ```ts
 * const verdict = llm.askJson<{ refund: boolean }>(
 *   new llm.Request()
 *     .system("You decide refund requests. Answer in JSON.")
 *     .user("The parcel arrived broken.")
 *     .maxOutputTokens(200)
 *     .jsonSchema({ type: "object", required: ["refund"] }),
 * );
 * ```
 *
 * The component imports `petrel:transition/llm` only when `petrel build`
 * builds it for a transition the net file grants `llm`; otherwise every call
 * throws an `LlmError` (`refused-by-policy`).
 */
import { PetrelError } from "./error";
import { complete as witComplete } from "./wit-llm";

/** A completion request, built step by step. */
export class Request {
  system_?: string;
  readonly messages: Array<{ role: string; content: string }> = [];
  maxOutputTokens_ = 1024;
  temperature_?: number;
  jsonSchema_?: string;

  /** Sets the system prompt. */
  system(prompt: string): Request {
    this.system_ = prompt;
    return this;
  }
  /** Appends a user message. */
  user(content: string): Request {
    this.messages.push({ role: "user", content });
    return this;
  }
  /** Appends an assistant message. */
  assistant(content: string): Request {
    this.messages.push({ role: "assistant", content });
    return this;
  }
  /** Caps the answer's length in tokens. */
  maxOutputTokens(limit: number): Request {
    this.maxOutputTokens_ = limit;
    return this;
  }
  /** Sets the sampling temperature. */
  temperature(value: number): Request {
    this.temperature_ = value;
    return this;
  }
  /** Asks for structured output matching this JSON schema (object or JSON text). */
  jsonSchema(schema: unknown): Request {
    this.jsonSchema_ = typeof schema === "string" ? schema : JSON.stringify(schema);
    return this;
  }
}

/** The model's answer. */
export interface Response {
  text: string;
  model: string;
  usage: { inputTokens: number; outputTokens: number };
}

/** Why a call gave no usable answer. */
export type LlmErrorKind =
  | "timeout"
  | "rate-limited"
  | "budget-exceeded"
  | "provider-error"
  | "refused-by-policy"
  | "not-configured"
  | "invalid-answer";

const RETRYABLE: LlmErrorKind[] = ["timeout", "rate-limited", "provider-error", "invalid-answer"];

/** Why a call gave no usable answer; a `PetrelError`, retryable or not by kind. */
export class LlmError extends PetrelError {
  constructor(
    readonly kind: LlmErrorKind,
    message: string,
  ) {
    super(message, { retryable: RETRYABLE.includes(kind) });
    this.name = "LlmError";
  }
}

function fromWit(err: { tag: string; val?: string }): LlmError {
  switch (err.tag) {
    case "timeout":
      return new LlmError("timeout", "the language model did not answer in time");
    case "rate-limited":
      return new LlmError("rate-limited", "the language model provider is rate limiting");
    case "budget-exceeded":
      return new LlmError("budget-exceeded", "the llm token budget is spent");
    case "refused-by-policy":
      return new LlmError("refused-by-policy", `the llm request was refused by policy: ${err.val}`);
    case "not-configured":
      return new LlmError("not-configured", "no language model is configured on the host");
    default:
      return new LlmError("provider-error", `the language model provider failed: ${err.val}`);
  }
}

/** Asks the host's language model. */
export function complete(request: Request): Response {
  try {
    return witComplete({
      system: request.system_,
      messages: request.messages,
      maxOutputTokens: request.maxOutputTokens_,
      temperature: request.temperature_,
      jsonSchema: request.jsonSchema_,
    });
  } catch (err) {
    const payload = (err as { payload?: { tag: string; val?: string } }).payload;
    if (payload && typeof payload.tag === "string") throw fromWit(payload);
    throw err;
  }
}

/** Parses a model's answer as JSON, tolerating a Markdown code fence. */
export function parseJson<T = unknown>(text: string): T {
  let body = text.trim();
  if (body.startsWith("```") && body.endsWith("```") && body.length >= 6) {
    body = body.slice(3, -3);
    const newline = body.indexOf("\n");
    body = (newline >= 0 ? body.slice(newline + 1) : body).trim();
  }
  try {
    return JSON.parse(body) as T;
  } catch (err) {
    const preview = text.length <= 200 ? text : `${text.slice(0, 200)}...`;
    throw new LlmError(
      "invalid-answer",
      `the model's answer is not the expected JSON: ${String(err)} (answer: \`${preview}\`)`,
    );
  }
}

/** Asks the host's language model and parses its answer as JSON. */
export function askJson<T = unknown>(request: Request): T {
  return parseJson<T>(complete(request).text);
}
