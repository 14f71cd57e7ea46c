import { describe, expect, it } from "vitest";
import { formatDuration, parseDuration } from "../../provider/duration";
import { ValidationError } from "../../provider/errors";
import { failureOf } from "../support/fixtures";

describe("parseDuration", () => {
  it.each([
    [900, 900],
    ["900", 900],
    [0, 0],
    ["0", 0],
    ["90s", 90],
    ["15m", 900],
    ["1h", 3600],
    ["1h30m", 5400],
    ["2h0m0s", 7200],
    ["1.5h", 5400],
    [".5m", 30],
    ["2000ms", 2],
    ["1000000us", 1],
    ["1000000\u00b5s", 1],
    ["1000000000ns", 1],
    ["2d", 172_800],
    ["1d12h", 129_600],
    ["768h", 2_764_800],
    [" 15m ", 900],
  ])("parses %j as %d seconds", (input, seconds) => {
    expect(parseDuration(input, "ttl")).toBe(seconds);
  });

  it("rejects garbage with a one-line message naming the field", () => {
    const error = failureOf(() => parseDuration("1x", "ttl"));
    expect(error.message).toBe('ttl: invalid duration "1x" (use seconds or a duration like 15m, 1h30m)');
    expect(error.failures).toEqual([{ field: "ttl", reason: 'invalid duration "1x" (use seconds or a duration like 15m, 1h30m)' }]);
  });

  it.each(["", "   ", "h", "1h 30m", "1.5", "15M", "+5s", "1e3", "abc"])("rejects %j", (input) => {
    const error = failureOf(() => parseDuration(input, "maxStsTtl"));
    expect(error.failures[0].field).toBe("maxStsTtl");
    expect(error.message).not.toContain("\n");
  });

  it("rejects negative values", () => {
    expect(failureOf(() => parseDuration(-5, "lease")).message).toBe("lease: must not be negative, got -5");
    expect(failureOf(() => parseDuration("-5s", "lease")).message).toBe('lease: must not be negative, got "-5s"');
  });

  it("rejects durations that are not whole seconds", () => {
    expect(failureOf(() => parseDuration("500ms", "ttl")).message).toBe('ttl: duration "500ms" is not a whole number of seconds');
    expect(failureOf(() => parseDuration("1.0001s", "ttl")).failures[0].field).toBe("ttl");
    expect(failureOf(() => parseDuration(1.5, "ttl")).message).toBe("ttl: must be a whole number of seconds, got 1.5");
  });

  it("rejects non-finite numbers and values beyond safe integers", () => {
    expect(failureOf(() => parseDuration(Number.NaN, "ttl")).failures[0].field).toBe("ttl");
    expect(failureOf(() => parseDuration(Number.POSITIVE_INFINITY, "ttl")).failures[0].field).toBe("ttl");
    expect(failureOf(() => parseDuration("99999999999999999999", "ttl")).message).toContain("too large");
  });

  it("quotes a multi-line value on one line", () => {
    const error = failureOf(() => parseDuration("1h\n2x", "ttl"));
    expect(error.message).toBe('ttl: invalid duration "1h\\n2x" (use seconds or a duration like 15m, 1h30m)');
  });
});

describe("formatDuration", () => {
  it.each([
    [0, "0s"],
    [45, "45s"],
    [90, "1m30s"],
    [3600, "1h0m0s"],
    [5400, "1h30m0s"],
    [768 * 3600, "768h0m0s"],
    [129_600, "36h0m0s"],
  ])("formats %d as %s like Go", (seconds, text) => {
    expect(formatDuration(seconds)).toBe(text);
  });

  it("round-trips through parseDuration", () => {
    for (const seconds of [1, 59, 61, 3599, 3601, 86_401, 2_764_800]) {
      expect(parseDuration(formatDuration(seconds), "ttl")).toBe(seconds);
    }
  });

  it("refuses fractional seconds", () => {
    expect(() => formatDuration(1.5)).toThrow(RangeError);
  });
});

describe("ValidationError", () => {
  it("names the first failure and counts the others on one line", () => {
    const error = new ValidationError([
      { field: "ttl", reason: "bad" },
      { field: "mfaCode", reason: "worse\nand worse" },
      { field: "roleArn", reason: "worst" },
    ]);
    expect(error.message).toBe("ttl: bad (and 2 more)");
    expect(error.failures[1]).toEqual({ field: "mfaCode", reason: "worse and worse" });
    expect(error.name).toBe("ValidationError");
    expect(error).toBeInstanceOf(Error);
  });

  it("needs at least one failure", () => {
    expect(() => new ValidationError([])).toThrow(RangeError);
  });
});
