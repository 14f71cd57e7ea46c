// Durations as Vault accepts them (parseutil.ParseDurationSecond) and prints them
// (Go's time.Duration.String).
import { ValidationError, quoteValue } from "./errors";

const NANOS_PER_SECOND = 1_000_000_000n;

// Go's time.ParseDuration units, plus "d" (days) as parseutil accepts it.
const UNIT_NANOS: Record<string, bigint> = {
  ns: 1n,
  us: 1_000n,
  "\u00b5s": 1_000n, // micro sign
  "\u03bcs": 1_000n, // Greek mu
  ms: 1_000_000n,
  s: NANOS_PER_SECOND,
  m: 60n * NANOS_PER_SECOND,
  h: 3_600n * NANOS_PER_SECOND,
  d: 86_400n * NANOS_PER_SECOND,
};

const TERM = /(\d+(?:\.\d*)?|\.\d+)(ns|us|\u00b5s|\u03bcs|ms|s|m|h|d)/y;

/**
 * Parses a duration to whole seconds: a number or digit string is seconds; otherwise
 * a Go duration such as "15m", "1h30m", "1.5h", "2000ms" or "2d". Fractions must add
 * up to whole seconds. 0 is accepted (callers decide whether it means "default").
 */
export function parseDuration(value: string | number, field: string): number {
  const invalid = (shown: unknown) => ValidationError.of(field, `invalid duration ${quoteValue(shown)} (use seconds or a duration like 15m, 1h30m)`);

  if (typeof value === "number") {
    if (!Number.isFinite(value)) throw invalid(value);
    if (value < 0) throw ValidationError.of(field, `must not be negative, got ${value}`);
    if (!Number.isInteger(value)) throw ValidationError.of(field, `must be a whole number of seconds, got ${value}`);
    if (!Number.isSafeInteger(value)) throw ValidationError.of(field, `duration ${value} is too large`);
    return value;
  }
  if (typeof value !== "string") throw invalid(value);

  const text = value.trim();
  if (text === "") throw ValidationError.of(field, "must not be empty (use seconds or a duration like 15m, 1h30m)");
  if (/^[-]/.test(text)) throw ValidationError.of(field, `must not be negative, got ${quoteValue(text)}`);
  if (/^\d+$/.test(text)) return checkedSeconds(BigInt(text) * NANOS_PER_SECOND, field, text);

  // Sum the terms exactly as a fraction nanos = numerator / denominator.
  let numerator = 0n;
  let denominator = 1n;
  let position = 0;
  TERM.lastIndex = 0;
  while (position < text.length) {
    TERM.lastIndex = position;
    const match = TERM.exec(text);
    if (!match) throw invalid(text);
    const [whole, fractionPart = ""] = match[1].split(".");
    const termDenominator = 10n ** BigInt(fractionPart.length);
    const termNumerator = BigInt((whole || "0") + fractionPart) * UNIT_NANOS[match[2]];
    numerator = numerator * termDenominator + termNumerator * denominator;
    denominator *= termDenominator;
    position = TERM.lastIndex;
  }
  if (numerator % (denominator * NANOS_PER_SECOND) !== 0n) {
    throw ValidationError.of(field, `duration ${quoteValue(text)} is not a whole number of seconds`);
  }
  return checkedSeconds(numerator / denominator, field, text);
}

function checkedSeconds(nanos: bigint, field: string, text: string): number {
  const seconds = nanos / NANOS_PER_SECOND;
  if (seconds > BigInt(Number.MAX_SAFE_INTEGER)) throw ValidationError.of(field, `duration ${quoteValue(text)} is too large`);
  return Number(seconds);
}

/** Whole seconds as Go prints a time.Duration, which is what Vault's reads return: "1h30m0s", "45s", "0s". */
export function formatDuration(seconds: number): string {
  if (!Number.isSafeInteger(seconds)) throw new RangeError(`formatDuration needs whole seconds, got ${seconds}`);
  if (seconds < 0) return `-${formatDuration(-seconds)}`;
  const hours = Math.floor(seconds / 3600);
  const minutes = Math.floor((seconds % 3600) / 60);
  const rest = seconds % 60;
  if (hours > 0) return `${hours}h${minutes}m${rest}s`;
  if (minutes > 0) return `${minutes}m${rest}s`;
  return `${rest}s`;
}

/** ISO 8601 in UTC at second precision, e.g. 2024-05-01T12:00:00Z (how AWS and Vault print times). */
export function isoSeconds(date: Date): string {
  return date.toISOString().replace(/\.\d{3}Z$/, "Z");
}

/** The date truncated to whole seconds. */
export function wholeSeconds(date: Date): Date {
  return new Date(Math.floor(date.getTime() / 1000) * 1000);
}
