import { decode, encode } from "@msgpack/msgpack";

import { PetrelError } from "./error";

/** A token: its place and its MessagePack payload. */
export class Token {
  constructor(
    readonly place: string,
    readonly payload: Uint8Array,
  ) {}

  /** A token whose payload is `value` encoded as MessagePack. */
  static encode(place: string, value: unknown): Token {
    try {
      return new Token(place, encode(value));
    } catch (err) {
      throw PetrelError.fatal(`cannot encode the payload for place \`${place}\`: ${String(err)}`);
    }
  }

  /** Decodes the payload; the error names the place. */
  decode<T = unknown>(): T {
    try {
      return decode(this.payload) as T;
    } catch (err) {
      throw PetrelError.fatal(`cannot decode the token in place \`${this.place}\`: ${String(err)}`);
    }
  }
}

/** The earlier firing a compensation undoes: what it decided. */
export class Compensated {
  constructor(
    readonly transition: string,
    readonly outcome: string,
    readonly outputs: Token[] = [],
  ) {}

  /** Decodes the first token it produced into `place`. */
  output<T = unknown>(place: string): T {
    const token = this.outputs.find((t) => t.place === place);
    if (!token) {
      throw PetrelError.fatal(
        `the compensated firing of \`${this.transition}\` produced no token in place \`${place}\``,
      );
    }
    return token.decode<T>();
  }
}

/** What a firing is made of; every field but `transition` has a default in tests. */
export interface FiringFields {
  transition: string;
  inputs?: Token[];
  net?: string;
  version?: string;
  caseId?: string;
  attempt?: number;
  compensated?: Compensated;
}

/** One firing of one transition on one case. */
export class Firing {
  readonly transition: string;
  readonly inputs: Token[];
  readonly net: string;
  readonly version: string;
  readonly caseId: string;
  readonly attempt: number;
  readonly compensated: Compensated | undefined;

  constructor(fields: FiringFields) {
    this.transition = fields.transition;
    this.inputs = fields.inputs ?? [];
    this.net = fields.net ?? "test";
    this.version = fields.version ?? "test";
    this.caseId = fields.caseId ?? "case-1";
    this.attempt = fields.attempt ?? 1;
    this.compensated = fields.compensated;
  }

  /** The first consumed token of `place`. */
  token(place: string): Token {
    const token = this.inputs.find((t) => t.place === place);
    if (!token) {
      const places = [...new Set(this.inputs.map((t) => t.place))].sort().join(", ") || "none";
      throw PetrelError.fatal(
        `transition \`${this.transition}\` consumed no token in place \`${place}\` (it consumed tokens in: ${places})`,
      );
    }
    return token;
  }

  /** The consumed tokens of `place`, oldest first. */
  tokensIn(place: string): Token[] {
    return this.inputs.filter((t) => t.place === place);
  }

  /** Decodes the first consumed token of `place`. */
  input<T = unknown>(place: string): T {
    return this.token(place).decode<T>();
  }

  /** Decodes every consumed token of `place`, oldest first. */
  inputsIn<T = unknown>(place: string): T[] {
    return this.tokensIn(place).map((t) => t.decode<T>());
  }
}
