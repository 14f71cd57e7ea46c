// Test fixtures shared by unit and integration tests.
import { expect } from "vitest";
import { ValidationError } from "../../provider/errors";
import type { MountSettings, RoleSettings } from "../../provider/types";

/** A validated role with every list empty; tests override what they are about. */
export function roleSettings(overrides: Partial<RoleSettings> = {}): RoleSettings {
  return {
    name: "deploy",
    credentialType: "iam_user",
    policyArns: [],
    roleArns: [],
    iamGroups: [],
    iamTags: {},
    defaultStsTtl: 0,
    maxStsTtl: 0,
    userPath: "/",
    sessionTags: {},
    ...overrides,
  };
}

/** A mount's settings with static root keys and no retries; tests override what they are about. */
export function mountSettings(overrides: Partial<MountSettings> = {}): MountSettings {
  return {
    mount: "aws",
    accessKey: "AKIAROOT",
    secretKey: "root-secret",
    region: "us-east-1",
    maxRetries: 0,
    leaseSeconds: 3600,
    leaseMaxSeconds: 86400,
    ...overrides,
  };
}

/** The ValidationError fn throws (its message one line); fails the test if it throws nothing or something else. */
export function failureOf(fn: () => unknown): ValidationError {
  try {
    fn();
  } catch (error) {
    expect(error).toBeInstanceOf(ValidationError);
    const validation = error as ValidationError;
    expect(validation.message).not.toContain("\n");
    return validation;
  }
  throw new Error("expected a ValidationError");
}
