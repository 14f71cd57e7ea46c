// The lease dispatcher: ids, names, TTL warnings, dispatch per credential type,
// revoke / renew / check semantics.
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { AssumeRoleCommand, GetCallerIdentityCommand, GetFederationTokenCommand, GetSessionTokenCommand, STSClient } from "@aws-sdk/client-sts";
import { mockClient } from "aws-sdk-client-mock";
import { checkLease, issueLease, renewLease, revokeLease } from "../../provider/aws/leases";
import { EXPIRY_POLICY_NAME, expiryDenyPolicy } from "../../provider/aws/iamUser";
import { ValidationError } from "../../provider/errors";
import type { RoleSettings } from "../../provider/types";
import { ACCOUNT, FakeIam } from "./support/fakeIam";
import { roleSettings, mountSettings } from "../support/fixtures";
import { clientsFor } from "../support/clients";

const engine = mountSettings();

const baseRole: RoleSettings = roleSettings({
  policyDocument: '{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"s3:*","Resource":"*"}]}',
});
const NOW = new Date("2030-01-02T03:04:05Z");
const ROLE_ARN = `arn:aws:iam::${ACCOUNT}:role/target`;

let iam: FakeIam;
const sts = mockClient(STSClient);
const stsCredentials = (expiration: Date) => ({
  AccessKeyId: "ASIATEMP",
  SecretAccessKey: "temp-secret",
  SessionToken: "token",
  Expiration: expiration,
});

beforeEach(() => {
  iam = new FakeIam();
  sts.reset();
  sts.on(GetCallerIdentityCommand).resolves({ Account: ACCOUNT, Arn: "arn", UserId: "AIDA" });
});
afterEach(() => iam.mock.restore());

describe("issueLease", () => {
  it("iam_user: lease id <mount>/creds/<role>/<24 alphanumerics>, templated user name, TTL warnings", async () => {
    const lease = await issueLease(clientsFor(engine), engine, baseRole, { ttl: 2 * 86400, waitUntilUsable: false }, { now: NOW });

    expect(lease.leaseId).toMatch(/^aws\/creds\/deploy\/[A-Za-z0-9]{24}$/);
    expect(lease.username).toMatch(/^awslease-aws-deploy-1893553445-[A-Za-z0-9]+$/);
    expect(iam.inputsOf("CreateUser")[0].UserName).toBe(lease.username);
    const tags = Object.fromEntries(iam.inputsOf("CreateUser")[0].Tags.map((t: any) => [t.Key, t.Value]));
    expect(tags["awslease:lease-id"]).toBe(lease.leaseId);
    // 2 days requested, capped at leaseMax (1 day) with resolveTtl's warning.
    expect(lease.leaseDuration).toBe(86400);
    expect(lease.expiresAt).toBe("2030-01-03T03:04:05Z");
    expect(lease.warnings).toEqual(["ttl 48h0m0s capped at the engine's leaseMax 24h0m0s"]);
  });

  it("uses the given lease key and the engine's username template", async () => {
    const lease = await issueLease(
      clientsFor({ ...engine, usernameTemplate: '{{ printf "%s-%s" .Type .PolicyName }}' }),
      { ...engine, usernameTemplate: '{{ printf "%s-%s" .Type .PolicyName }}' },
      baseRole,
      { ttl: 0, waitUntilUsable: false },
      { now: NOW, leaseKey: "fixedfixedfixedfixedfixe" },
    );
    expect(lease.leaseId).toBe("aws/creds/deploy/fixedfixedfixedfixedfixe");
    expect(lease.username).toBe("IAM-deploy");
    expect(lease.leaseDuration).toBe(3600);
  });

  it("two issues get different lease ids", async () => {
    const role = { ...baseRole, credentialType: "session_token" as const, policyDocument: undefined };
    sts.on(GetSessionTokenCommand).resolves({ Credentials: stsCredentials(new Date("2030-01-02T04:04:05Z")) });
    const a = await issueLease(clientsFor(engine), engine, role, { ttl: 0, waitUntilUsable: false }, { now: NOW });
    const b = await issueLease(clientsFor(engine), engine, role, { ttl: 0, waitUntilUsable: false }, { now: NOW });
    expect(a.leaseId).not.toBe(b.leaseId);
  });

  it("assumed_role: lease id under sts/, the only role ARN, a session name from the IAM template", async () => {
    sts.on(AssumeRoleCommand).resolves({
      Credentials: stsCredentials(new Date("2030-01-02T04:04:05Z")),
      AssumedRoleUser: { Arn: `arn:aws:sts::${ACCOUNT}:assumed-role/target/x`, AssumedRoleId: "AROA:x" },
    });
    const role = { ...baseRole, credentialType: "assumed_role" as const, roleArns: [ROLE_ARN] };
    const lease = await issueLease(clientsFor(engine), engine, role, { ttl: 0, waitUntilUsable: false }, { now: NOW });

    expect(lease.leaseId).toMatch(/^aws\/sts\/deploy\/[A-Za-z0-9]{24}$/);
    const input = sts.commandCalls(AssumeRoleCommand)[0].args[0].input;
    expect(input.RoleArn).toBe(ROLE_ARN);
    expect(input.DurationSeconds).toBe(3600);
    // Vault renders generated session names with the IAM type (up to 64 characters).
    expect(input.RoleSessionName).toMatch(/^awslease-aws-deploy-1893553445-/);
    expect(input.RoleSessionName!.length).toBeLessThanOrEqual(64);
    expect(lease.username).toBe(input.RoleSessionName);
    expect(iam.mock.calls()).toHaveLength(0);
  });

  it("assumed_role: the request's session name wins", async () => {
    sts.on(AssumeRoleCommand).resolves({ Credentials: stsCredentials(new Date("2030-01-02T04:04:05Z")) });
    const role = { ...baseRole, credentialType: "assumed_role" as const, roleArns: [ROLE_ARN] };
    await issueLease(clientsFor(engine), engine, role, { ttl: 0, waitUntilUsable: false, roleSessionName: "ci-run-42" }, { now: NOW });
    expect(sts.commandCalls(AssumeRoleCommand)[0].args[0].input.RoleSessionName).toBe("ci-run-42");
  });

  it("federation_token: Name from the STS template (at most 32 characters)", async () => {
    sts.on(GetFederationTokenCommand).resolves({ Credentials: stsCredentials(new Date("2030-01-02T04:04:05Z")) });
    const role = { ...baseRole, credentialType: "federation_token" as const };
    const lease = await issueLease(clientsFor(engine), engine, role, { ttl: 0, waitUntilUsable: false }, { now: NOW });
    const input = sts.commandCalls(GetFederationTokenCommand)[0].args[0].input;
    expect(input.Name).toMatch(/^awslease-1893553445-[A-Za-z0-9]{12}$/);
    expect(input.Name).toHaveLength(32);
    expect(lease.leaseId).toMatch(/^aws\/sts\/deploy\//);
  });

  it("session_token: dispatched to GetSessionToken with the STS TTL (raised to the AWS minimum, with a warning)", async () => {
    sts.on(GetSessionTokenCommand).resolves({ Credentials: stsCredentials(new Date("2030-01-02T03:19:05Z")) });
    const role = { ...baseRole, credentialType: "session_token" as const, policyDocument: undefined };
    const lease = await issueLease(clientsFor(engine), engine, role, { ttl: 60, waitUntilUsable: false }, { now: NOW });
    expect(sts.commandCalls(GetSessionTokenCommand)[0].args[0].input).toEqual({ DurationSeconds: 900 });
    expect(lease.credentialType).toBe("session_token");
    expect(lease.warnings).toEqual(["ttl 1m0s raised to 15m0s, the AWS minimum for session_token"]);
  });

  it("an invalid request is refused before any AWS call", async () => {
    const role = { ...baseRole, credentialType: "assumed_role" as const, roleArns: [ROLE_ARN, `${ROLE_ARN}2`] };
    await expect(issueLease(clientsFor(engine), engine, role, { ttl: 0, waitUntilUsable: false })).rejects.toBeInstanceOf(ValidationError);
    expect(sts.calls()).toHaveLength(0);
    expect(iam.mock.calls()).toHaveLength(0);
  });
});

describe("revokeLease", () => {
  it("iam_user: deletes the user", async () => {
    iam.addUser("u1", { keys: ["AKIA1"] });
    await expect(revokeLease(clientsFor(engine), { credentialType: "iam_user", username: "u1" })).resolves.toEqual({
      revoked: true,
      message: "deleted IAM user u1 and its access keys",
    });
    expect(iam.users.has("u1")).toBe(false);
  });

  it("iam_user already gone is success, and says so", async () => {
    await expect(revokeLease(clientsFor(engine), { credentialType: "iam_user", username: "u1" })).resolves.toEqual({
      revoked: true,
      message: "IAM user u1 was already gone",
    });
  });

  it("STS without a recorded session, or with sts_revocation none, or session_token: no AWS call; the message says when and why they stay valid", async () => {
    const revocation = { principal: "role" as const, name: "deploy", sessionId: "AROADEPLOY:sess" };
    const cases: Array<[Parameters<typeof revokeLease>[1], Parameters<typeof revokeLease>[2], string]> = [
      [
        { credentialType: "assumed_role", username: "sess", expiresAt: "2030-01-02T04:04:05Z" },
        {},
        "the lease was issued before awslease recorded session ids",
      ],
      [
        { credentialType: "assumed_role", sessionRevocation: revocation, expiresAt: "2030-01-02T04:04:05Z" },
        { stsRevocation: "none" },
        "the mount's sts_revocation is none",
      ],
      [
        { credentialType: "session_token", expiresAt: "2030-01-02T04:04:05Z" },
        {},
        "a session_token session cannot be told apart from its caller in AWS policies",
      ],
    ];
    for (const [lease, mount, why] of cases) {
      await expect(revokeLease(clientsFor(engine), lease, mount)).resolves.toEqual({
        revoked: false,
        message: `the credentials stay valid until they expire at 2030-01-02T04:04:05Z (${why})`,
      });
    }
    expect(iam.mock.calls()).toHaveLength(0);
  });

  it("STS at IAM's quota: the older-sessions fallback comes with a warning for the user", async () => {
    iam.roles.set("deploy", new Map());
    iam.inlineQuota.role = 200; // the older-sessions document is 192 characters; a session's own, 248
    const sessionRevocation = { principal: "role" as const, name: "deploy", sessionId: "AROADEPLOY:sess" };
    const result = await revokeLease(
      clientsFor(engine),
      { credentialType: "assumed_role", sessionRevocation, expiresAt: "2030-01-02T04:04:05Z" },
      {},
      () => new Date("2030-01-02T03:00:00Z"),
    );
    expect(result).toEqual({
      revoked: true,
      message: "denied session AROADEPLOY:sess on role deploy",
      warning: `every session of role deploy issued before now is denied (AWS's "revoke older sessions"): its inline policies reached IAM's size limit`,
    });
  });

  it("STS with a recorded session: a Deny for its aws:userid on the role; an expired session needs none", async () => {
    iam.roles.set("deploy", new Map());
    const sessionRevocation = { principal: "role" as const, name: "deploy", sessionId: "AROADEPLOY:sess" };
    const now = () => new Date("2030-01-02T03:00:00Z");
    await expect(
      revokeLease(clientsFor(engine), { credentialType: "assumed_role", sessionRevocation, expiresAt: "2030-01-02T04:04:05Z" }, {}, now),
    ).resolves.toEqual({ revoked: true, message: "denied session AROADEPLOY:sess on role deploy" });
    expect(JSON.parse(iam.roles.get("deploy")!.get("awslease-revoked-sessions")!).Statement[0].Condition.StringEquals).toEqual({
      "aws:userid": ["AROADEPLOY:sess"],
    });
    const calls = iam.mock.calls().length;
    await expect(
      revokeLease(clientsFor(engine), { credentialType: "assumed_role", sessionRevocation, expiresAt: "2030-01-02T02:00:00Z" }, {}, now),
    ).resolves.toEqual({ revoked: true, message: "the session expired at 2030-01-02T02:00:00Z" });
    expect(iam.mock.calls()).toHaveLength(calls);
  });
});

describe("renewLease", () => {
  const lease = {
    credentialType: "iam_user" as const,
    username: "u1",
    issuedAt: "2030-01-01T00:00:00Z",
    expiresAt: "2030-01-01T01:00:00Z",
  };

  beforeEach(() => {
    iam.addUser("u1", { tags: [{ Key: "awslease:expires-at", Value: lease.expiresAt }] });
  });

  it("moves the expiry to now + increment and rewrites the deny policy and tag", async () => {
    const now = new Date("2030-01-01T00:30:00.500Z");
    await expect(renewLease(clientsFor(engine), engine, lease, 7200, now)).resolves.toEqual({
      expiresAt: "2030-01-01T02:30:00Z",
      leaseDuration: 7200,
      warnings: [],
    });
    expect(iam.users.get("u1")!.inline.get(EXPIRY_POLICY_NAME)).toBe(expiryDenyPolicy(new Date("2030-01-01T02:30:00Z")));
    expect(iam.users.get("u1")!.tags).toEqual([{ Key: "awslease:expires-at", Value: "2030-01-01T02:30:00Z" }]);
  });

  it("increment 0 means the engine's lease", async () => {
    const renewed = await renewLease(clientsFor(engine), engine, lease, 0, new Date("2030-01-01T00:30:00Z"));
    expect(renewed.expiresAt).toBe("2030-01-01T01:30:00Z");
    expect(renewed.leaseDuration).toBe(3600);
  });

  it("is capped so the lease lives at most leaseMax from issuedAt, with a warning", async () => {
    const now = new Date("2030-01-01T23:00:00Z");
    const renewed = await renewLease(clientsFor(engine), engine, { ...lease, expiresAt: "2030-01-01T23:30:00Z" }, 7200, now);
    expect(renewed).toEqual({
      expiresAt: "2030-01-02T00:00:00Z",
      leaseDuration: 3600,
      warnings: ["renewal of 2h0m0s capped at the engine's leaseMax 24h0m0s from issue: the lease now expires at 2030-01-02T00:00:00Z"],
    });
    expect(iam.users.get("u1")!.inline.get(EXPIRY_POLICY_NAME)).toContain('"aws:CurrentTime":"2030-01-02T00:00:00Z"');
  });

  it("refuses once the lease has lived leaseMax (e.g. after leaseMax was lowered)", async () => {
    const err = await renewLease(
      clientsFor({ ...engine, leaseMaxSeconds: 1800 }),
      { ...engine, leaseMaxSeconds: 1800 },
      lease,
      600,
      new Date("2030-01-01T00:40:00Z"),
    ).catch((e) => e);
    expect(err).toBeInstanceOf(ValidationError);
    expect(err.message).toBe("increment: lease reached the engine's leaseMax 30m0s at 2030-01-01T00:30:00Z; issue a new one");
    expect(iam.applied).toEqual([]);
  });

  it("refuses an expired lease (its key is already denied) and STS leases", async () => {
    await expect(renewLease(clientsFor(engine), engine, lease, 600, new Date("2030-01-01T01:00:00Z"))).rejects.toThrow(
      "expiresAt: lease expired at 2030-01-01T01:00:00Z and cannot be renewed; issue a new one",
    );
    await expect(renewLease(clientsFor(engine), engine, { ...lease, credentialType: "assumed_role" }, 600, new Date("2030-01-01T00:10:00Z"))).rejects.toThrow(
      /lease is not renewable/,
    );
    expect(iam.applied).toEqual([]);
  });
});

describe("checkLease", () => {
  const now = new Date("2030-01-01T00:30:00Z");
  const iamLease = { credentialType: "iam_user" as const, username: "u1", accessKey: "AKIA1", expiresAt: "2030-01-01T01:00:00Z" };

  it("iam_user: ok, expired, or gone (user or key gone, expired or not)", async () => {
    iam.addUser("u1", { keys: ["AKIA1"] });
    await expect(checkLease(clientsFor(engine), iamLease, now)).resolves.toBe("ok");
    await expect(checkLease(clientsFor(engine), { ...iamLease, expiresAt: "2030-01-01T00:00:00Z" }, now)).resolves.toBe("expired");
    await expect(checkLease(clientsFor(engine), { ...iamLease, accessKey: "AKIA2" }, now)).resolves.toBe("gone");
    await expect(checkLease(clientsFor(engine), { ...iamLease, username: "u2", expiresAt: "2030-01-01T00:00:00Z" }, now)).resolves.toBe("gone");
  });

  it("STS: by expiry alone, without AWS calls", async () => {
    const sts = { credentialType: "federation_token" as const, accessKey: "ASIA", expiresAt: "2030-01-01T01:00:00Z" };
    await expect(checkLease(clientsFor(engine), sts, now)).resolves.toBe("ok");
    await expect(checkLease(clientsFor(engine), { ...sts, expiresAt: "2030-01-01T00:30:00Z" }, now)).resolves.toBe("expired");
    expect(iam.mock.calls()).toHaveLength(0);
  });
});
