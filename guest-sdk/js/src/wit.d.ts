// The imports of `wit/transition.wit` as componentize-js presents them.
declare module "petrel:transition/log@0.1.0" {
  export function log(level: "trace" | "debug" | "info" | "warn" | "error", message: string): void;
}

declare module "petrel:transition/llm@0.1.0" {
  export interface WitMessage {
    role: string;
    content: string;
  }
  export interface WitRequest {
    system?: string;
    messages: WitMessage[];
    maxOutputTokens: number;
    temperature?: number;
    jsonSchema?: string;
  }
  export interface WitResponse {
    text: string;
    model: string;
    usage: { inputTokens: number; outputTokens: number };
  }
  /** Throws `{ payload: { tag, val? } }` with the `llm-error` variant. */
  export function complete(request: WitRequest): WitResponse;
}
