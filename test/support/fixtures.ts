// Test fixtures shared by unit and integration tests.
import type { RoleSettings } from "../../provider/types";

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
