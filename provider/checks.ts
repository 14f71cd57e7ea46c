// Turns a validation rule failure into Pulumi check failures, so `pulumi preview`
// and `up` stop before anything touches AWS, with a message naming the field.
import type * as pulumi from "@pulumi/pulumi";

/**
 * Outputs and checked inputs must be plain JSON: the provider's gRPC layer rejects
 * `undefined` values ("Unexpected struct type"), so optional fields are dropped.
 */
export function plain<T>(value: T): T {
  return JSON.parse(JSON.stringify(value ?? {}));
}

export function checkFailures(news: Record<string, unknown>, validate: () => void): pulumi.dynamic.CheckResult {
  try {
    validate();
    return { inputs: plain(news) };
  } catch (err) {
    const failures = (err as { failures?: { field: string; reason: string }[] }).failures;
    if (!failures) throw err;
    return { inputs: plain(news), failures: failures.map((f) => ({ property: f.field, reason: f.reason })) };
  }
}
