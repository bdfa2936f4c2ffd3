/** Options of a {@link PetrelError}. */
export interface PetrelErrorOptions {
  /** Whether retrying the same inputs could succeed (default false). */
  retryable?: boolean;
}

/**
 * A failed firing: the host records the message and applies its retry policy
 * if the error is retryable, or dead-letters the inputs at once if not. Any
 * other exception escaping `decide` becomes a fatal error naming it.
 */
export class PetrelError extends Error {
  readonly retryable: boolean;

  constructor(message: string, options: PetrelErrorOptions = {}) {
    super(message);
    this.name = "PetrelError";
    this.retryable = options.retryable ?? false;
  }

  /** An error that retrying the same inputs could get past. */
  static retryable(message: string): PetrelError {
    return new PetrelError(message, { retryable: true });
  }

  /** An error that retrying the same inputs would only repeat. */
  static fatal(message: string): PetrelError {
    return new PetrelError(message, { retryable: false });
  }
}
