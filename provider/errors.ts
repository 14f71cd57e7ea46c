// Validation errors: bad input, exit code 1 in the CLI. Every rule in validation.ts,
// names.ts, duration.ts and usernameTemplate.ts throws these; AWS errors are
// aws/errors.ts's AwsCallError.

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
