import { PetrelError } from "./error";
import { Token } from "./firing";

/**
 * What a transition decided: fire an outcome with some tokens, decline, or
 * abort the case.
 *
 * The host checks that the outcome is declared for the transition and that
 * every token lands in one of that outcome's places, exactly as many per
 * place as the arc weight; anything else is a failed firing.
 */
export class Decision {
  readonly outputs: Token[] = [];

  private constructor(
    readonly kind: "fire" | "decline" | "abort",
    readonly outcome?: string,
    readonly reason?: string,
  ) {}

  /** Fires the declared outcome `outcome`; add its tokens with `token`. */
  static fire(outcome: string): Decision {
    return new Decision("fire", outcome);
  }

  /** The guard is false: the inputs go back where they were. */
  static decline(): Decision {
    return new Decision("decline");
  }

  /** The case cannot go on: the host aborts it (and compensates). */
  static abort(reason: string): Decision {
    return new Decision("abort", undefined, reason);
  }

  /** Produces a token into `place`, its payload `value` encoded as MessagePack. */
  token(place: string, value: unknown): Decision {
    return this.push(Token.encode(place, value));
  }

  /** Produces a token with an already encoded payload. */
  tokenBytes(place: string, payload: Uint8Array): Decision {
    return this.push(new Token(place, payload));
  }

  /** Decodes the first token produced into `place` (handy in tests). */
  output<T = unknown>(place: string): T {
    const token = this.outputs.find((t) => t.place === place);
    if (!token) throw PetrelError.fatal(`no token produced into place \`${place}\``);
    return token.decode<T>();
  }

  private push(token: Token): Decision {
    if (this.kind !== "fire") {
      throw PetrelError.fatal(
        `cannot produce a token into \`${token.place}\`: the decision is \`${this.kind}\`, not \`fire\` (start from \`Decision.fire(outcome)\`)`,
      );
    }
    this.outputs.push(token);
    return this;
  }
}
