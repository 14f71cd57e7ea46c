// The two kinds of failure every front-end tells apart. ValidationError: bad input
// (exit code 1 in the CLI); every rule in validation.ts, names.ts, duration.ts and
// usernameTemplate.ts throws it. EngineError: the engine or AWS failed (exit code 2);
// a single AWS call's failure is aws/errors.ts's AwsCallError.

export interface ValidationFailure {
  /** The camelCase input field (or the snake_case key of a Vault JSON document). */
  field: string;
  reason: string;
}

/** One or more invalid inputs. The message is always one line: `<field>: <reason>`. */
export class ValidationError extends Error {
  readonly failures: ValidationFailure[];

  constructor(failures: ValidationFailure[]) {
    if (failures.length === 0) throw new RangeError("ValidationError needs at least one failure");
    const clean = failures.map((f) => ({ field: oneLine(f.field), reason: oneLine(f.reason) }));
    const first = `${clean[0].field}: ${clean[0].reason}`;
    super(clean.length > 1 ? `${first} (and ${clean.length - 1} more)` : first);
    this.name = "ValidationError";
    this.failures = clean;
  }

  /** A ValidationError with a single failure. */
  static of(field: string, reason: string): ValidationError {
    return new ValidationError([{ field, reason }]);
  }
}

function oneLine(text: string): string {
  return text.replace(/\s*[\r\n]+\s*/g, " ").trim();
}

/** A user value quoted for an error message: JSON-escaped (so one line) and cut short. */
export function quoteValue(value: unknown, max = 40): string {
  const text = typeof value === "string" ? value : String(value);
  const cut = text.length > max ? `${text.slice(0, max)}...` : text;
  return JSON.stringify(cut);
}

/** An engine or AWS failure (exit code 2), one line naming what failed. */
export class EngineError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = "EngineError";
  }
}

/** The owner of a stack lock, as the engine names it. */
export interface StackLock {
  user: string;
  host: string;
  pid: number;
  since: string;
}

/** A stack another engine run holds right now (service/pulumi/stackLocks.ts). */
export class StackLockedError extends EngineError {
  constructor(
    readonly stackName: string,
    readonly locks: StackLock[],
    retryHint: string,
  ) {
    const owner = locks[0] ? `pulumi pid ${locks[0].pid} on ${locks[0].host} since ${locks[0].since}` : "another run";
    super(`stack ${stackName} is locked by ${owner}; if that run is gone, ${retryHint}`);
    this.name = "StackLockedError";
  }
}
