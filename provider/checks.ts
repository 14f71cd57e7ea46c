// Turns a validation rule failure into Pulumi check failures, so `pulumi preview`
// and `up` stop before anything touches AWS, with a message naming the field.
import * as pulumi from "@pulumi/pulumi";

/**
 * Outputs and checked inputs must be plain JSON: the provider's gRPC layer rejects
 * `undefined` values ("Unexpected struct type"), so optional fields are dropped.
 */
export function plain<T>(value: T): T {
  return JSON.parse(JSON.stringify(value ?? {}));
}

/**
 * During preview, inputs computed from outputs of resources not created (or being
 * updated) yet arrive as Pulumi's unknown sentinel string. Validating them would
 * report false failures (e.g. `roleSessionName: only valid for assumed_role` against
 * a role whose settings are not known yet), so the checks skip what is unknown;
 * create and update validate again with the real values.
 */
export function hasUnknowns(value: unknown): boolean {
  if (value === pulumi.runtime.unknownValue) return true;
  if (Array.isArray(value)) return value.some(hasUnknowns);
  if (value !== null && typeof value === "object") return Object.values(value).some(hasUnknowns);
  return false;
}

export function checkFailures<T extends object>(news: T, validate: () => void): pulumi.dynamic.CheckResult<T> {
  try {
    validate();
    return { inputs: plain(news) };
  } catch (err) {
    const failures = (err as { failures?: { field: string; reason: string }[] }).failures;
    if (!failures) throw err;
    // The field goes into the reason, not `property`: the engine prints the top-level
    // input named by `property` next to the reason, and our fields sit nested under
    // `input` / `request`, so it would print "property roleArns value {<nil>}".
    return { inputs: plain(news), failures: failures.map((f) => ({ property: "", reason: `${f.field}: ${f.reason}` })) };
  }
}
