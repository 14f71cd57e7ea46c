import { describe, expect, it } from "vitest";
import type { MountSettings, RoleSettings } from "../../provider/types";
import {
  checkIssueRequest,
  parseKeyValueList,
  parseList,
  resolveTtl,
  roleFromVaultJson,
  validateEngineConfig,
  validateLease,
  validateRole,
} from "../../provider/validation";
import type { RoleInput } from "../../provider/validation";
import { IAM_USER_POLICY_DOCUMENT_MAX } from "../../provider/credentialTypes";
import { expiryDenyPolicy } from "../../provider/expiryPolicy";
import { failureOf } from "../support/fixtures";

const ROLE_ARN = "arn:aws:iam::123456789012:role/deploy";
const OTHER_ROLE_ARN = "arn:aws:iam::123456789012:role/team/readonly";
const POLICY_ARN = "arn:aws:iam::aws:policy/ReadOnlyAccess";
const POLICY = { Version: "2012-10-17", Statement: [{ Effect: "Allow", Action: "s3:ListAllMyBuckets", Resource: "*" }] };

const fieldsOf = (fn: () => unknown) => failureOf(fn).failures.map((f) => f.field);

// ------------------------------------------------------------------ engine

describe("validateEngineConfig", () => {
  const noEnv = { mount: "aws", env: {} };

  it("applies Vault's defaults", () => {
    expect(validateEngineConfig({}, noEnv)).toEqual({
      mount: "aws",
      region: "us-east-1",
      maxRetries: -1,
      leaseSeconds: 768 * 3600,
      leaseMaxSeconds: 768 * 3600,
    });
  });

  it("falls back to AWS_REGION, then AWS_DEFAULT_REGION, then us-east-1", () => {
    const env = { AWS_REGION: "eu-west-1", AWS_DEFAULT_REGION: "ap-south-1" };
    expect(validateEngineConfig({}, { mount: "aws", env }).region).toBe("eu-west-1");
    expect(validateEngineConfig({}, { mount: "aws", env: { AWS_DEFAULT_REGION: "ap-south-1" } }).region).toBe("ap-south-1");
    expect(validateEngineConfig({ region: "us-west-2" }, { mount: "aws", env }).region).toBe("us-west-2");
    expect(validateEngineConfig({}, { mount: "aws", env: { AWS_REGION: "" } }).region).toBe("us-east-1");
  });

  it("keeps every given setting", () => {
    const settings = validateEngineConfig(
      {
        mount: "team_aws-1",
        accessKey: "AKIAEXAMPLEEXAMPLE01",
        secretKey: "s3cr3t/s3cr3t+s3cr3t",
        region: "eu-central-1",
        iamEndpoint: "http://127.0.0.1:5000",
        stsEndpoint: "https://sts.eu-central-1.amazonaws.com",
        stsRegion: "eu-central-1",
        maxRetries: 3,
        usernameTemplate: "{{ .Mount }}-{{ random 8 }}",
        lease: "1h",
        leaseMax: 7200,
      },
      noEnv,
    );
    expect(settings).toEqual({
      mount: "team_aws-1",
      accessKey: "AKIAEXAMPLEEXAMPLE01",
      secretKey: "s3cr3t/s3cr3t+s3cr3t",
      region: "eu-central-1",
      iamEndpoint: "http://127.0.0.1:5000",
      stsEndpoint: "https://sts.eu-central-1.amazonaws.com",
      stsRegion: "eu-central-1",
      maxRetries: 3,
      usernameTemplate: "{{ .Mount }}-{{ random 8 }}",
      leaseSeconds: 3600,
      leaseMaxSeconds: 7200,
    });
  });

  it("accepts stsRegion without stsEndpoint (it only applies with one, as in Vault)", () => {
    const settings = validateEngineConfig({ stsRegion: "us-west-2" }, noEnv);
    expect(settings.stsRegion).toBe("us-west-2");
    expect(settings.stsEndpoint).toBeUndefined();
  });

  it("requires accessKey and secretKey together, without echoing them", () => {
    const onlyAccess = failureOf(() => validateEngineConfig({ accessKey: "AKIAEXAMPLEEXAMPLE01" }, noEnv));
    expect(onlyAccess.message).toBe("secretKey: must be set when accessKey is set");
    const onlySecret = failureOf(() => validateEngineConfig({ secretKey: "very-secret-value" }, noEnv));
    expect(onlySecret.message).toBe("accessKey: must be set when secretKey is set");
    expect(onlySecret.message).not.toContain("very-secret-value");
  });

  it.each([
    [{ mount: "a/b" }, "mount"],
    [{ mount: "with space" }, "mount"],
    [{ region: "US_EAST_1" }, "region"],
    [{ stsRegion: "Eu West" }, "stsRegion"],
    [{ iamEndpoint: "ftp://iam.example.com" }, "iamEndpoint"],
    [{ stsEndpoint: "not a url" }, "stsEndpoint"],
    [{ maxRetries: -2 }, "maxRetries"],
    [{ maxRetries: 1.5 }, "maxRetries"],
    [{ lease: "soon" }, "lease"],
    [{ lease: 0 }, "lease"],
    [{ leaseMax: "0s" }, "leaseMax"],
    [{ lease: "2h", leaseMax: "1h" }, "lease"],
    [{ lease: "800h" }, "lease"],
    [{ usernameTemplate: "{{ nope }}" }, "usernameTemplate"],
  ])("rejects %j naming %s", (input, field) => {
    expect(fieldsOf(() => validateEngineConfig(input, noEnv))).toEqual([field]);
  });

  it("does not echo an endpoint, which could carry credentials", () => {
    const error = failureOf(() => validateEngineConfig({ iamEndpoint: "ftp://user:hunter2@host" }, noEnv));
    expect(error.message).toBe("iamEndpoint: must be an http:// or https:// URL");
  });

  it("uses the input mount over the default", () => {
    expect(validateEngineConfig({ mount: "prod" }, noEnv).mount).toBe("prod");
  });

  it("collects every failure into one error", () => {
    const error = failureOf(() => validateEngineConfig({ mount: "a b", region: "X", maxRetries: -5 }, noEnv));
    expect(error.failures.map((f) => f.field)).toEqual(["mount", "region", "maxRetries"]);
    expect(error.message).toMatch(/^mount: .* \(and 2 more\)$/);
  });
});

// ------------------------------------------------------------------ roles

describe("validateRole", () => {
  it("normalises a minimal iam_user role", () => {
    expect(validateRole("deploy", { credentialType: "iam_user", policyArns: [POLICY_ARN] })).toEqual({
      name: "deploy",
      credentialType: "iam_user",
      policyArns: [POLICY_ARN],
      roleArns: [],
      iamGroups: [],
      iamTags: {},
      defaultStsTtl: 0,
      maxStsTtl: 0,
      userPath: "/",
      sessionTags: {},
    });
  });

  it("accepts a full iam_user role", () => {
    const role = validateRole("ci.bot@team", {
      credentialType: "iam_user",
      policyDocument: JSON.stringify(POLICY, null, 2),
      policyArns: [POLICY_ARN, "arn:aws:iam::123456789012:policy/path/mine"],
      iamGroups: ["developers"],
      iamTags: ["team=platform", "cost-center=42"],
      userPath: "/awslease/ci/",
      permissionsBoundaryArn: "arn:aws:iam::123456789012:policy/boundary",
    });
    expect(role.policyDocument).toBe(JSON.stringify(POLICY));
    expect(role.iamTags).toEqual({ team: "platform", "cost-center": "42" });
    expect(role.userPath).toBe("/awslease/ci/");
    expect(role.permissionsBoundaryArn).toBe("arn:aws:iam::123456789012:policy/boundary");
    expect(role.iamGroups).toEqual(["developers"]);
  });

  it("accepts a full assumed_role role", () => {
    const role = validateRole("deploy", {
      credentialType: "assumed_role",
      roleArns: [ROLE_ARN, OTHER_ROLE_ARN],
      policyDocument: POLICY,
      policyArns: [POLICY_ARN],
      iamGroups: ["developers"],
      defaultStsTtl: "30m",
      maxStsTtl: "2h",
      sessionTags: { team: "platform" },
      externalId: "tenant-42:prod",
    });
    expect(role).toMatchObject({
      roleArns: [ROLE_ARN, OTHER_ROLE_ARN],
      policyDocument: JSON.stringify(POLICY),
      defaultStsTtl: 1800,
      maxStsTtl: 7200,
      sessionTags: { team: "platform" },
      externalId: "tenant-42:prod",
    });
  });

  it("accepts federation_token and session_token roles", () => {
    expect(validateRole("fed", { credentialType: "federation_token", policyArns: [POLICY_ARN], maxStsTtl: 3600 }).maxStsTtl).toBe(3600);
    expect(validateRole("sess", { credentialType: "session_token", mfaSerialNumber: "arn:aws:iam::123456789012:mfa/jane", defaultStsTtl: 900 })).toMatchObject({
      mfaSerialNumber: "arn:aws:iam::123456789012:mfa/jane",
      defaultStsTtl: 900,
    });
    expect(validateRole("sess", { credentialType: "session_token", mfaSerialNumber: "GAHT12345678" }).mfaSerialNumber).toBe("GAHT12345678");
  });

  it("treats empty strings and empty lists as unset (as Vault's reads print them)", () => {
    const role = validateRole("sess", {
      credentialType: "session_token",
      policyDocument: "",
      policyArns: [],
      roleArns: [],
      userPath: "",
      externalId: "",
      permissionsBoundaryArn: "",
      defaultStsTtl: 0,
    });
    expect(role.policyDocument).toBeUndefined();
    expect(role.userPath).toBe("/");
  });

  it.each([
    ["", "name"],
    ["has space", "name"],
    ["x".repeat(65), "name"],
  ])("rejects role name %j", (name, field) => {
    expect(fieldsOf(() => validateRole(name, { credentialType: "iam_user" }))).toEqual([field]);
  });

  it("accepts a 64-character role name", () => {
    expect(validateRole("x".repeat(64), { credentialType: "iam_user" }).name).toHaveLength(64);
  });

  it("requires one of the four credential types", () => {
    expect(failureOf(() => validateRole("r", { credentialType: "" })).message).toBe(
      "credentialType: is required (one of iam_user, assumed_role, federation_token, session_token)",
    );
    expect(failureOf(() => validateRole("r", { credentialType: "root" })).message).toBe(
      'credentialType: "root" is not one of iam_user, assumed_role, federation_token, session_token',
    );
  });

  // One row per rule: the input and the single field the error must name.
  it.each<[string, RoleInput, string]>([
    ["roleArns on iam_user", { credentialType: "iam_user", roleArns: [ROLE_ARN] }, "roleArns"],
    ["a malformed role ARN", { credentialType: "assumed_role", roleArns: ["arn:aws:iam::123:role/x"] }, "roleArns"],
    ["a policy ARN as role ARN", { credentialType: "assumed_role", roleArns: [POLICY_ARN] }, "roleArns"],
    ["assumed_role without role ARNs", { credentialType: "assumed_role" }, "roleArns"],
    ["policyDocument on session_token", { credentialType: "session_token", policyDocument: POLICY }, "policyDocument"],
    ["policyArns on session_token", { credentialType: "session_token", policyArns: [POLICY_ARN] }, "policyArns"],
    ["a policyDocument that is not JSON", { credentialType: "iam_user", policyDocument: "{not json" }, "policyDocument"],
    ["a policyDocument that is an array", { credentialType: "iam_user", policyDocument: "[1,2]" }, "policyDocument"],
    ["a policyDocument that is a string", { credentialType: "iam_user", policyDocument: '"Allow"' }, "policyDocument"],
    ["a malformed policy ARN", { credentialType: "iam_user", policyArns: ["ReadOnlyAccess"] }, "policyArns"],
    ["iamGroups on session_token", { credentialType: "session_token", iamGroups: ["devs"] }, "iamGroups"],
    ["a malformed group name", { credentialType: "iam_user", iamGroups: ["a/b"] }, "iamGroups"],
    ["iamTags on assumed_role", { credentialType: "assumed_role", roleArns: [ROLE_ARN], iamTags: { a: "b" } }, "iamTags"],
    ["an iamTags entry without =", { credentialType: "iam_user", iamTags: ["team"] }, "iamTags"],
    ["an iamTags key over 128", { credentialType: "iam_user", iamTags: { ["k".repeat(129)]: "v" } }, "iamTags"],
    ["an iamTags value over 256", { credentialType: "iam_user", iamTags: { k: "v".repeat(257) } }, "iamTags"],
    ["51 iamTags", { credentialType: "iam_user", iamTags: Object.fromEntries(Array.from({ length: 51 }, (_, i) => [`k${i}`, "v"])) }, "iamTags"],
    ["an aws: iamTags key", { credentialType: "iam_user", iamTags: { "aws:team": "x" } }, "iamTags"],
    ["defaultStsTtl on iam_user", { credentialType: "iam_user", defaultStsTtl: "1h" }, "defaultStsTtl"],
    ["maxStsTtl on iam_user", { credentialType: "iam_user", maxStsTtl: 3600 }, "maxStsTtl"],
    ["defaultStsTtl above maxStsTtl", { credentialType: "session_token", defaultStsTtl: "2h", maxStsTtl: "1h" }, "defaultStsTtl"],
    ["a malformed defaultStsTtl", { credentialType: "session_token", defaultStsTtl: "1 hour" }, "defaultStsTtl"],
    ["a negative maxStsTtl", { credentialType: "session_token", maxStsTtl: -1 }, "maxStsTtl"],
    ["userPath on assumed_role", { credentialType: "assumed_role", roleArns: [ROLE_ARN], userPath: "/" }, "userPath"],
    ["a userPath without slashes", { credentialType: "iam_user", userPath: "team" }, "userPath"],
    ["a userPath without the final slash", { credentialType: "iam_user", userPath: "/team" }, "userPath"],
    ["a userPath with a space", { credentialType: "iam_user", userPath: "/a b/" }, "userPath"],
    ["a userPath over 512", { credentialType: "iam_user", userPath: `/${"a".repeat(511)}/` }, "userPath"],
    [
      "permissionsBoundaryArn on session_token",
      { credentialType: "session_token", permissionsBoundaryArn: "arn:aws:iam::aws:policy/X" },
      "permissionsBoundaryArn",
    ],
    ["a boundary in another service", { credentialType: "iam_user", permissionsBoundaryArn: "arn:aws:s3:::policy/x" }, "permissionsBoundaryArn"],
    ["a boundary that is a role", { credentialType: "iam_user", permissionsBoundaryArn: ROLE_ARN }, "permissionsBoundaryArn"],
    ["a boundary that is not an ARN", { credentialType: "iam_user", permissionsBoundaryArn: "boundary" }, "permissionsBoundaryArn"],
    ["mfaSerialNumber on iam_user", { credentialType: "iam_user", mfaSerialNumber: "arn:aws:iam::123456789012:mfa/jane" }, "mfaSerialNumber"],
    ["a too-short mfaSerialNumber", { credentialType: "session_token", mfaSerialNumber: "123" }, "mfaSerialNumber"],
    ["sessionTags on iam_user", { credentialType: "iam_user", sessionTags: { a: "b" } }, "sessionTags"],
    ["a sessionTags value over 256", { credentialType: "assumed_role", roleArns: [ROLE_ARN], sessionTags: { a: "v".repeat(257) } }, "sessionTags"],
    ["51 sessionTags", { credentialType: "assumed_role", roleArns: [ROLE_ARN], sessionTags: Array.from({ length: 51 }, (_, i) => `k${i}=v`) }, "sessionTags"],
    ["externalId on federation_token", { credentialType: "federation_token", policyArns: [POLICY_ARN], externalId: "abc" }, "externalId"],
    ["a one-character externalId", { credentialType: "assumed_role", roleArns: [ROLE_ARN], externalId: "a" }, "externalId"],
    ["an externalId over 1224", { credentialType: "assumed_role", roleArns: [ROLE_ARN], externalId: "a".repeat(1225) }, "externalId"],
    ["an externalId with a space", { credentialType: "assumed_role", roleArns: [ROLE_ARN], externalId: "a b" }, "externalId"],
    ["federation_token without a policy", { credentialType: "federation_token" }, "policyDocument"],
  ])("rejects %s", (_what, input, field) => {
    expect(fieldsOf(() => validateRole("r", input))).toEqual([field]);
  });

  it("accepts the boundary values of the AWS limits", () => {
    const role = validateRole("r", {
      credentialType: "assumed_role",
      roleArns: [ROLE_ARN],
      sessionTags: { ["k".repeat(128)]: "v".repeat(256), ...Object.fromEntries(Array.from({ length: 49 }, (_, i) => [`k${i}`, ""])) },
      externalId: "a".repeat(1224),
    });
    expect(Object.keys(role.sessionTags)).toHaveLength(50);
    expect(validateRole("u", { credentialType: "iam_user", userPath: `/${"a".repeat(510)}/` }).userPath).toHaveLength(512);
    expect(validateRole("e", { credentialType: "assumed_role", roleArns: [ROLE_ARN], externalId: "ab" }).externalId).toBe("ab");
  });

  it("accepts a federation_token whose only policy comes from iamGroups (merged at issue time)", () => {
    expect(validateRole("fed", { credentialType: "federation_token", iamGroups: ["readers"] }).iamGroups).toEqual(["readers"]);
  });

  it("accepts GovCloud and China partitions in ARNs", () => {
    const role = validateRole("r", {
      credentialType: "assumed_role",
      roleArns: ["arn:aws-us-gov:iam::123456789012:role/x", "arn:aws-cn:iam::123456789012:role/y"],
      policyArns: ["arn:aws-us-gov:iam::aws:policy/ReadOnlyAccess"],
    });
    expect(role.roleArns).toHaveLength(2);
  });

  it("collects every failure, each naming its camelCase field", () => {
    const error = failureOf(() =>
      validateRole("bad name", {
        credentialType: "session_token",
        policyArns: [POLICY_ARN],
        roleArns: [ROLE_ARN],
        userPath: "/x/",
        externalId: "abc",
      }),
    );
    expect(error.failures.map((f) => f.field).sort()).toEqual(["externalId", "name", "policyArns", "roleArns", "userPath"]);
    expect(error.message).toMatch(/\(and 4 more\)$/);
    expect(error.failures.find((f) => f.field === "roleArns")?.reason).toBe("only valid for credentialType assumed_role (this role is session_token)");
  });
});

// ------------------------------------------------------------------ leases

describe("policy document size and role names", () => {
  /** A policy document whose compact JSON is exactly `size` characters. */
  function policyOfSize(size: number): string {
    const base = { Version: "2012-10-17", Statement: [{ Effect: "Allow", Action: "s3:GetObject", Resource: "" }] };
    const padding = size - JSON.stringify(base).length;
    base.Statement[0].Resource = "x".repeat(padding);
    const text = JSON.stringify(base);
    expect(text.length).toBe(size);
    return text;
  }
  const failure = (fn: () => unknown) => {
    try {
      fn();
    } catch (err) {
      return (err as Error).message;
    }
    return "no error";
  };

  it("iam_user: the document and the expiry policy share the 2,048-character quota of a user's inline policies", () => {
    expect(IAM_USER_POLICY_DOCUMENT_MAX).toBe(2048 - expiryDenyPolicy(new Date()).length);
    expect(validateRole("r", { credentialType: "iam_user", policyDocument: policyOfSize(IAM_USER_POLICY_DOCUMENT_MAX) }).policyDocument).toHaveLength(
      IAM_USER_POLICY_DOCUMENT_MAX,
    );
    expect(failure(() => validateRole("r", { credentialType: "iam_user", policyDocument: policyOfSize(IAM_USER_POLICY_DOCUMENT_MAX + 1) }))).toMatch(
      new RegExp(`^policyDocument: is ${IAM_USER_POLICY_DOCUMENT_MAX + 1} characters; an IAM user's inline policies may total 2048`),
    );
  });

  it("whitespace does not count (AWS does not count it): a pretty-printed document is sized compact", () => {
    const compact = policyOfSize(IAM_USER_POLICY_DOCUMENT_MAX);
    const pretty = JSON.stringify(JSON.parse(compact), null, 4);
    expect(pretty.length).toBeGreaterThan(IAM_USER_POLICY_DOCUMENT_MAX);
    expect(validateRole("r", { credentialType: "iam_user", policyDocument: pretty }).policyDocument).toBe(compact);
  });

  it("STS types: a session policy of at most 2,048 characters", () => {
    for (const credentialType of ["federation_token", "assumed_role"] as const) {
      const extra = credentialType === "assumed_role" ? { roleArns: ["arn:aws:iam::123456789012:role/x"] } : {};
      expect(validateRole("r", { credentialType, policyDocument: policyOfSize(2048), ...extra }).policyDocument).toHaveLength(2048);
      expect(failure(() => validateRole("r", { credentialType, policyDocument: policyOfSize(2049), ...extra }))).toBe(
        "policyDocument: is 2049 characters; an STS session policy may have at most 2048",
      );
    }
  });

  it("role names made only of dots are refused (lease ids such as aws/creds/../ID)", () => {
    for (const name of [".", "..", "..."]) {
      expect(failure(() => validateRole(name, { credentialType: "session_token" }))).toMatch(/^name: .* \(not only dots\)$/);
    }
    expect(validateRole("a.b", { credentialType: "session_token" }).name).toBe("a.b");
  });
});

describe("validateLease", () => {
  it("applies defaults", () => {
    expect(validateLease({})).toEqual({ ttl: 0, waitUntilUsable: true });
  });

  it("keeps every given value", () => {
    expect(validateLease({ ttl: "15m", roleArn: ROLE_ARN, roleSessionName: "ci@run=1", mfaCode: "123456", waitUntilUsable: false })).toEqual({
      ttl: 900,
      roleArn: ROLE_ARN,
      roleSessionName: "ci@run=1",
      mfaCode: "123456",
      waitUntilUsable: false,
    });
  });

  it.each<[Parameters<typeof validateLease>[0], string]>([
    [{ ttl: "soon" }, "ttl"],
    [{ ttl: -1 }, "ttl"],
    [{ roleArn: "deploy" }, "roleArn"],
    [{ roleSessionName: "a" }, "roleSessionName"],
    [{ roleSessionName: "x".repeat(65) }, "roleSessionName"],
    [{ roleSessionName: "has space" }, "roleSessionName"],
    [{ mfaCode: "12345" }, "mfaCode"],
    [{ mfaCode: "12345a" }, "mfaCode"],
    [{ waitUntilUsable: "yes" as unknown as boolean }, "waitUntilUsable"],
  ])("rejects %j", (input, field) => {
    expect(fieldsOf(() => validateLease(input))).toEqual([field]);
  });

  it("never echoes an MFA code", () => {
    expect(failureOf(() => validateLease({ mfaCode: "98765" })).message).toBe("mfaCode: must be 6 digits");
  });

  it("accepts a 64-character session name", () => {
    expect(validateLease({ roleSessionName: "x".repeat(64) }).roleSessionName).toHaveLength(64);
  });
});

describe("checkIssueRequest", () => {
  const assumed = (roleArns: string[]): RoleSettings => validateRole("deploy", { credentialType: "assumed_role", roleArns });

  it("picks the only role ARN when none is requested", () => {
    expect(checkIssueRequest(assumed([ROLE_ARN]), validateLease({}))).toEqual({ roleArn: ROLE_ARN });
  });

  it("requires a choice when the role has several ARNs", () => {
    const role = assumed([ROLE_ARN, OTHER_ROLE_ARN]);
    expect(fieldsOf(() => checkIssueRequest(role, validateLease({})))).toEqual(["roleArn"]);
    expect(checkIssueRequest(role, validateLease({ roleArn: OTHER_ROLE_ARN }))).toEqual({ roleArn: OTHER_ROLE_ARN });
  });

  it("refuses a role ARN that is not in the role's list", () => {
    const error = failureOf(() => checkIssueRequest(assumed([ROLE_ARN]), validateLease({ roleArn: OTHER_ROLE_ARN })));
    expect(error.message).toBe(`roleArn: "${OTHER_ROLE_ARN}" is not one of the role ARNs of role "deploy"`);
  });

  it("requires mfaCode when a session_token role has an MFA device", () => {
    const role = validateRole("sess", { credentialType: "session_token", mfaSerialNumber: "arn:aws:iam::123456789012:mfa/jane" });
    expect(fieldsOf(() => checkIssueRequest(role, validateLease({})))).toEqual(["mfaCode"]);
    expect(checkIssueRequest(role, validateLease({ mfaCode: "123456" }))).toEqual({});
  });

  it("refuses parameters that do not apply to the role's type", () => {
    const user = validateRole("u", { credentialType: "iam_user" });
    expect(fieldsOf(() => checkIssueRequest(user, validateLease({ roleArn: ROLE_ARN, roleSessionName: "abc", mfaCode: "123456" })))).toEqual([
      "roleArn",
      "roleSessionName",
      "mfaCode",
    ]);
    const session = validateRole("s", { credentialType: "session_token" });
    expect(fieldsOf(() => checkIssueRequest(session, validateLease({ mfaCode: "123456" })))).toEqual(["mfaCode"]);
  });

  it("refuses a federation_token role without any policy", () => {
    // Built by hand: validateRole would already refuse it (e.g. state written by an older version).
    const role: RoleSettings = { ...validateRole("fed", { credentialType: "federation_token", policyArns: [POLICY_ARN] }), policyArns: [] };
    expect(fieldsOf(() => checkIssueRequest(role, validateLease({})))).toEqual(["policyDocument"]);
  });
});

// ------------------------------------------------------------------ TTLs

describe("resolveTtl", () => {
  const engine: MountSettings = { mount: "aws", region: "us-east-1", maxRetries: -1, leaseSeconds: 3600, leaseMaxSeconds: 86_400 };
  const user = validateRole("u", { credentialType: "iam_user" });
  const sts = (credentialType: string, extra: Partial<RoleInput> = {}) =>
    validateRole("s", {
      credentialType,
      ...(credentialType === "assumed_role" ? { roleArns: [ROLE_ARN] } : {}),
      ...(credentialType === "federation_token" ? { policyArns: [POLICY_ARN] } : {}),
      ...extra,
    });

  it("iam_user: uses the engine lease by default", () => {
    expect(resolveTtl(engine, user, 0)).toEqual({ seconds: 3600, warnings: [] });
  });

  it("iam_user: accepts any positive TTL below leaseMax, with no 900 s floor", () => {
    expect(resolveTtl(engine, user, 60)).toEqual({ seconds: 60, warnings: [] });
  });

  it("iam_user: caps at leaseMax with a warning", () => {
    expect(resolveTtl(engine, user, 100_000)).toEqual({
      seconds: 86_400,
      warnings: ["ttl 27h46m40s capped at the engine's leaseMax 24h0m0s"],
    });
  });

  it("STS: requested TTL wins, then defaultStsTtl, then 3600", () => {
    expect(resolveTtl(engine, sts("assumed_role", { defaultStsTtl: "2h" }), 1800)).toEqual({ seconds: 1800, warnings: [] });
    expect(resolveTtl(engine, sts("assumed_role", { defaultStsTtl: "2h" }), 0)).toEqual({ seconds: 7200, warnings: [] });
    expect(resolveTtl(engine, sts("assumed_role"), 0)).toEqual({ seconds: 3600, warnings: [] });
  });

  it("STS: caps at maxStsTtl with a warning", () => {
    expect(resolveTtl(engine, sts("session_token", { maxStsTtl: "2h" }), 10_800)).toEqual({
      seconds: 7200,
      warnings: ["ttl 3h0m0s capped at the role's maxStsTtl 2h0m0s"],
    });
  });

  it("STS: without maxStsTtl caps at the engine's leaseMax", () => {
    const shortMax = { ...engine, leaseMaxSeconds: 5400 };
    expect(resolveTtl(shortMax, sts("federation_token"), 7200)).toEqual({
      seconds: 5400,
      warnings: ["ttl 2h0m0s capped at the engine's leaseMax 1h30m0s"],
    });
  });

  it.each(["assumed_role", "federation_token", "session_token"])("%s: raises a TTL under 900 s to the AWS minimum", (type) => {
    expect(resolveTtl(engine, sts(type), 300)).toEqual({
      seconds: 900,
      warnings: [`ttl 5m0s raised to 15m0s, the AWS minimum for ${type}`],
    });
  });

  it.each([
    ["assumed_role", 43_200, "12h0m0s"],
    ["federation_token", 129_600, "36h0m0s"],
    ["session_token", 129_600, "36h0m0s"],
  ])("%s: lowers a TTL above the AWS maximum to %d", (type, max, text) => {
    const longEngine = { ...engine, leaseMaxSeconds: 768 * 3600 };
    expect(resolveTtl(longEngine, sts(type), 200_000)).toEqual({
      seconds: max,
      warnings: [`ttl 55h33m20s lowered to ${text}, the AWS maximum for ${type}`],
    });
  });

  it("STS: a maxStsTtl under 900 s is capped, then raised to the AWS minimum, with both warnings", () => {
    const result = resolveTtl(engine, sts("assumed_role", { maxStsTtl: 600 }), 0);
    expect(result.seconds).toBe(900);
    expect(result.warnings).toEqual(["ttl 1h0m0s capped at the role's maxStsTtl 10m0s", "ttl 10m0s raised to 15m0s, the AWS minimum for assumed_role"]);
  });

  it("refuses a negative or fractional TTL", () => {
    expect(fieldsOf(() => resolveTtl(engine, user, -1))).toEqual(["ttl"]);
    expect(fieldsOf(() => resolveTtl(engine, user, 1.5))).toEqual(["ttl"]);
  });
});

// ------------------------------------------------------------------ Vault JSON

describe("roleFromVaultJson", () => {
  // `vault read -format=json aws/roles/deploy` on Vault 1.17 (the `data` object): unset fields are "", null or 0.
  const vaultRead = {
    credential_type: "assumed_role",
    default_sts_ttl: 1800,
    external_id: "tenant-42",
    iam_groups: null,
    iam_tags: null,
    max_sts_ttl: 3600,
    mfa_serial_number: "",
    permissions_boundary_arn: "",
    policy_arns: [POLICY_ARN],
    policy_document: '{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"s3:ListAllMyBuckets","Resource":"*"}]}',
    role_arns: [ROLE_ARN],
    session_tags: { team: "platform" },
    user_path: "",
  };

  it("round-trips a role read from Vault", () => {
    const input = roleFromVaultJson(vaultRead);
    expect(input).toEqual({
      credentialType: "assumed_role",
      defaultStsTtl: 1800,
      externalId: "tenant-42",
      maxStsTtl: 3600,
      policyArns: [POLICY_ARN],
      policyDocument: vaultRead.policy_document,
      roleArns: [ROLE_ARN],
      sessionTags: { team: "platform" },
    });
    const role = validateRole("deploy", input);
    expect(role).toEqual({
      name: "deploy",
      credentialType: "assumed_role",
      policyDocument: vaultRead.policy_document,
      policyArns: [POLICY_ARN],
      roleArns: [ROLE_ARN],
      iamGroups: [],
      iamTags: {},
      defaultStsTtl: 1800,
      maxStsTtl: 3600,
      userPath: "/",
      sessionTags: { team: "platform" },
      externalId: "tenant-42",
    });
    // The stored document is Vault's compacted form, byte for byte.
    expect(role.policyDocument).toBe(JSON.stringify(JSON.parse(vaultRead.policy_document)));
  });

  it("unwraps a whole `vault read -format=json` response", () => {
    const response = {
      request_id: "8d2e6c8a",
      lease_id: "",
      renewable: false,
      lease_duration: 0,
      data: vaultRead,
      wrap_info: null,
      warnings: null,
      auth: null,
    };
    expect(roleFromVaultJson(response)).toEqual(roleFromVaultJson(vaultRead));
  });

  it("accepts the write form: comma lists, k=v lists, duration strings and an object policy", () => {
    const input = roleFromVaultJson({
      credential_type: "iam_user",
      policy_document: POLICY,
      policy_arns: `${POLICY_ARN}, arn:aws:iam::123456789012:policy/mine`,
      iam_groups: "devs,ops",
      iam_tags: ["team=platform", "env=prod"],
      user_path: "/awslease/",
      permissions_boundary_arn: "arn:aws:iam::123456789012:policy/boundary",
    });
    const role = validateRole("ci", input);
    expect(role).toMatchObject({
      credentialType: "iam_user",
      policyDocument: JSON.stringify(POLICY),
      policyArns: [POLICY_ARN, "arn:aws:iam::123456789012:policy/mine"],
      iamGroups: ["devs", "ops"],
      iamTags: { team: "platform", env: "prod" },
      userPath: "/awslease/",
      permissionsBoundaryArn: "arn:aws:iam::123456789012:policy/boundary",
    });
    const sts = validateRole(
      "s",
      roleFromVaultJson({ credential_type: "session_token", default_sts_ttl: "15m", max_sts_ttl: "1h", mfa_serial_number: "GAHT12345678" }),
    );
    expect(sts).toMatchObject({ defaultStsTtl: 900, maxStsTtl: 3600, mfaSerialNumber: "GAHT12345678" });
    expect(roleFromVaultJson({ credential_type: "assumed_role", role_arns: ROLE_ARN, session_tags: "a=1,b=2" })).toEqual({
      credentialType: "assumed_role",
      roleArns: [ROLE_ARN],
      sessionTags: { a: "1", b: "2" },
    });
  });

  it("rejects an unknown field, naming it", () => {
    const error = failureOf(() => roleFromVaultJson({ credential_type: "iam_user", policy_arn: POLICY_ARN }));
    expect(error.failures.map((f) => f.field)).toEqual(["policy_arn"]);
    expect(error.message).toMatch(/^policy_arn: unknown field \(known: credential_type, /);
  });

  it("rejects the legacy arn and policy fields", () => {
    expect(fieldsOf(() => roleFromVaultJson({ credential_type: "assumed_role", arn: ROLE_ARN }))).toEqual(["arn"]);
    expect(failureOf(() => roleFromVaultJson({ credential_type: "iam_user", policy: "{}" })).message).toContain("legacy field is not supported");
  });

  it.each([
    [{ credential_type: "iam_user", policy_arns: 5 }, "policy_arns"],
    [{ credential_type: "iam_user", policy_arns: [POLICY_ARN, 5] }, "policy_arns"],
    [{ credential_type: "iam_user", iam_tags: ["novalue"] }, "iam_tags"],
    [{ credential_type: 1 }, "credential_type"],
    [{ credential_type: "iam_user", default_sts_ttl: true }, "default_sts_ttl"],
    [{ credential_type: "iam_user", policy_document: [1] }, "policy_document"],
    [{ policy_arns: [POLICY_ARN] }, "credential_type"],
  ])("rejects %j naming %s", (json, field) => {
    expect(fieldsOf(() => roleFromVaultJson(json as Record<string, unknown>))).toEqual([field]);
  });

  it("rejects a JSON value that is not an object", () => {
    expect(fieldsOf(() => roleFromVaultJson([] as unknown as Record<string, unknown>))).toEqual(["role"]);
  });
});

// ------------------------------------------------------------------ list helpers

describe("parseKeyValueList", () => {
  it("parses k=v,k2=v2 strings, k=v arrays and maps", () => {
    expect(parseKeyValueList("team=platform, env=prod", "sessionTags")).toEqual({ team: "platform", env: "prod" });
    expect(parseKeyValueList(["a=1", "b=x=y", "c="], "iamTags")).toEqual({ a: "1", b: "x=y", c: "" });
    expect(parseKeyValueList({ a: "1" }, "iamTags")).toEqual({ a: "1" });
    expect(parseKeyValueList("", "iamTags")).toEqual({});
  });

  it.each<[string | string[] | Record<string, string>, string]>([
    ["team", '"team" is not a key=value pair'],
    ["=v", '"=v" is not a key=value pair'],
    ["a=1,a=2", 'key "a" is given twice'],
    [{ a: 1 as unknown as string }, 'value of "a" must be a string'],
  ])("rejects %j naming the field", (value, reason) => {
    expect(failureOf(() => parseKeyValueList(value, "sessionTags")).message).toBe(`sessionTags: ${reason}`);
  });
});

describe("parseList", () => {
  it("splits A,B strings and cleans arrays", () => {
    expect(parseList("A, B,,C ")).toEqual(["A", "B", "C"]);
    expect(parseList([" A", "", "B"])).toEqual(["A", "B"]);
    expect(parseList(undefined)).toEqual([]);
    expect(parseList("")).toEqual([]);
  });
});
