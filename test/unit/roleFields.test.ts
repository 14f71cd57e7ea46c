// ROLE_FIELDS against the code it drives: validation's "only valid for" checks, Vault
// role JSON in, and every field of a stored role.
import { describe, expect, it } from "vitest";
import { ROLE_FIELDS } from "../../provider/roleFields";
import { roleFromVaultJson, validateRole, type RoleInput } from "../../provider/validation";
import { CREDENTIAL_TYPES } from "../../provider/types";

/** A valid value of each field (besides credentialType). */
const SAMPLES: Partial<Record<keyof RoleInput, unknown>> = {
  policyDocument: { Version: "2012-10-17", Statement: [{ Effect: "Allow", Action: "s3:ListBucket", Resource: "*" }] },
  policyArns: ["arn:aws:iam::aws:policy/ReadOnlyAccess"],
  roleArns: ["arn:aws:iam::123456789012:role/deploy"],
  iamGroups: ["devs"],
  iamTags: { team: "a" },
  defaultStsTtl: "15m",
  maxStsTtl: "1h",
  userPath: "/ci/",
  permissionsBoundaryArn: "arn:aws:iam::123456789012:policy/boundary",
  mfaSerialNumber: "arn:aws:iam::123456789012:mfa/user",
  sessionTags: { team: "a" },
  externalId: "ext-id",
};

/** What each type needs to be valid at all. */
const BASE: Record<string, Partial<RoleInput>> = {
  iam_user: {},
  assumed_role: { roleArns: ["arn:aws:iam::123456789012:role/deploy"] },
  federation_token: { policyArns: ["arn:aws:iam::aws:policy/ReadOnlyAccess"] },
  session_token: {},
};

function onlyValidFailure(input: RoleInput, field: string): string | undefined {
  try {
    validateRole("r", input);
    return undefined;
  } catch (err) {
    const failures = (err as { failures: { field: string; reason: string }[] }).failures;
    return failures.find((f) => f.field === field && f.reason.startsWith("only valid for"))?.reason;
  }
}

describe("ROLE_FIELDS", () => {
  it("has a sample here for every field, and unique program, Vault and flag names", () => {
    const fields = ROLE_FIELDS.filter((f) => f.key !== "credentialType");
    expect(fields.map((f) => f.key).sort()).toEqual(Object.keys(SAMPLES).sort());
    for (const names of [ROLE_FIELDS.map((f) => f.key), ROLE_FIELDS.map((f) => f.vault), ROLE_FIELDS.map((f) => f.flag)]) {
      expect(new Set(names).size).toBe(ROLE_FIELDS.length);
    }
  });

  it("validateRole accepts each field exactly for the types the table names", () => {
    for (const field of ROLE_FIELDS.filter((f) => f.key !== "credentialType")) {
      for (const type of CREDENTIAL_TYPES) {
        const input = { ...BASE[type], credentialType: type, [field.key]: SAMPLES[field.key] } as RoleInput;
        const failure = onlyValidFailure(input, field.key);
        if (field.types.includes(type)) expect(failure, `${field.key} on ${type}`).toBeUndefined();
        else expect(failure, `${field.key} on ${type}`).toBe(`only valid for credentialType ${field.types.join(", ")} (this role is ${type})`);
      }
    }
  });

  it("Vault role JSON: every field by its Vault name reaches the role", () => {
    for (const field of ROLE_FIELDS.filter((f) => f.key !== "credentialType")) {
      const type = field.types[0];
      const json = {
        credential_type: type,
        ...Object.fromEntries(Object.entries(BASE[type]).map(([k, v]) => [ROLE_FIELDS.find((f) => f.key === k)!.vault, v])),
        [field.vault]: SAMPLES[field.key],
      };
      const role = validateRole("r", roleFromVaultJson(json));
      expect(role[field.key], field.vault).toBeDefined();
      expect(role[field.key], field.vault).not.toEqual([]);
    }
  });
});

describe("CONFIG_FIELDS", () => {
  it("names each config field once, and Vault JSON maps back to the program's names", async () => {
    const { CONFIG_FIELDS } = await import("../../provider/configFields");
    const { mountConfigFromVaultJson } = await import("../../provider/validation");
    for (const key of ["key", "vault", "flag"] as const) expect(new Set(CONFIG_FIELDS.map((f) => f[key])).size).toBe(CONFIG_FIELDS.length);
    const root = Object.fromEntries(CONFIG_FIELDS.filter((f) => f.endpoint === "root").map((f) => [f.vault, f.kind === "number" ? "3" : `v-${f.vault}`]));
    const input = mountConfigFromVaultJson(root, "root");
    for (const f of CONFIG_FIELDS.filter((x) => x.endpoint === "root")) expect(input[f.key], f.vault).toBe(f.kind === "number" ? 3 : `v-${f.vault}`);
    expect(() => mountConfigFromVaultJson({ lease: "1h" }, "root")).toThrow(/lease: unknown field \(known: access_key, secret_key/);
    expect(() => mountConfigFromVaultJson({ max_retries: "many" }, "root")).toThrow(/max_retries: must be a whole number/);
    expect(mountConfigFromVaultJson({ lease: "1h", lease_max: 7200 }, "lease")).toEqual({ lease: "1h", leaseMax: 7200 });
  });
});
