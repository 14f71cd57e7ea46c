// STS credential types and group policies against moto with IAM policy enforcement.
// moto gaps (measured on moto 5.2; the unit tests cover these paths with exact parameters):
// - session policies (Policy, PolicyArns) of AssumeRole/GetFederationToken are not enforced;
// - GetFederationToken and GetSessionToken return fixed example keys that moto itself
//   rejects (InvalidClientTokenId), so those credentials cannot be exercised;
// - a trust policy naming the account root does not admit the account's users: the
//   caller's exact ARN must be listed.
import { beforeAll, describe, expect, it } from "vitest";
import {
  AttachGroupPolicyCommand,
  CreateAccessKeyCommand,
  CreateGroupCommand,
  CreateRoleCommand,
  CreateUserCommand,
  ListRolesCommand,
  ListUsersCommand,
  PutGroupPolicyCommand,
  PutUserPolicyCommand,
} from "@aws-sdk/client-iam";
import { GetCallerIdentityCommand } from "@aws-sdk/client-sts";
import { callerIdentity, issueAssumedRole, issueFederationToken, issueSessionToken } from "../../provider/aws/sts";
import { sessionPolicy } from "../../provider/aws/groupPolicies";
import type { LeaseRequest, RoleSettings } from "../../provider/types";
import { allowPolicy, clients, createAssumableRole, motoMountSettings, moto, uniq } from "../support/aws";
import { roleSettings } from "../support/fixtures";
import { clientsFor } from "../support/clients";

const allow = allowPolicy;

function role(overrides: Partial<RoleSettings>): RoleSettings {
  return roleSettings({ name: "test", credentialType: "assumed_role", ...overrides });
}

const request = (overrides: Partial<LeaseRequest> = {}): LeaseRequest => ({ ttl: 0, waitUntilUsable: true, ...overrides });

async function errorOf(promise: Promise<unknown>): Promise<{ name?: string; message?: string; action?: string; code?: string }> {
  try {
    await promise;
  } catch (err) {
    return err as { name?: string; message?: string };
  }
  throw new Error("expected a failure");
}

/** Creates an IAM user with an inline policy allowing `actions`; returns its keys. */
async function createUser(actions: string[]): Promise<{ name: string; accessKey: string; secretKey: string }> {
  const { iam } = clients();
  const name = uniq("user");
  await iam.send(new CreateUserCommand({ UserName: name }));
  await iam.send(new PutUserPolicyCommand({ UserName: name, PolicyName: "allow", PolicyDocument: allow(actions) }));
  const key = await iam.send(new CreateAccessKeyCommand({ UserName: name }));
  return { name, accessKey: key.AccessKey!.AccessKeyId!, secretKey: key.AccessKey!.SecretAccessKey! };
}

describe("callerIdentity", () => {
  it("identifies the engine's root user", async () => {
    await expect(callerIdentity(clientsFor(motoMountSettings()))).resolves.toMatchObject({
      accountId: moto().accountId,
      arn: `arn:aws:iam::${moto().accountId}:user/root`,
    });
  });

  it("rejects unknown credentials naming sts:GetCallerIdentity", async () => {
    const err = await errorOf(callerIdentity(clientsFor(motoMountSettings({ accessKey: "AKIAUNKNOWNUNKNOWN00", secretKey: "nope" }))));
    expect(err.action).toBe("sts:GetCallerIdentity");
    expect(err.code).toBe("InvalidClientTokenId");
  });
});

describe("issueAssumedRole", () => {
  let roleArn: string;
  beforeAll(async () => {
    roleArn = await createAssumableRole(["iam:ListUsers"]);
  });

  it("returns session credentials limited to the role's permissions", async () => {
    const now = new Date();
    const sessionName = uniq("session");
    const lease = await issueAssumedRole(clientsFor(motoMountSettings()), role({ roleArns: [roleArn] }), request(), {
      leaseId: "aws/sts/test/1",
      ttlSeconds: 900,
      sessionName,
      roleArn,
      now,
    });
    const roleName = roleArn.split("/").pop();
    expect(lease).toMatchObject({
      leaseId: "aws/sts/test/1",
      credentialType: "assumed_role",
      arn: `arn:aws:sts::${moto().accountId}:assumed-role/${roleName}/${sessionName}`,
      username: sessionName,
      renewable: false,
      warnings: [],
    });
    expect(lease.sessionToken).toBeTruthy();
    expect(lease.issuedAt).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/);
    expect(lease.expiresAt).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/);
    expect(Math.abs(lease.leaseDuration - 900)).toBeLessThanOrEqual(2);

    const assumed = clients(lease.accessKey, lease.secretKey, lease.sessionToken);
    await expect(assumed.iam.send(new ListUsersCommand({}))).resolves.toHaveProperty("Users");
    const denied = await errorOf(assumed.iam.send(new ListRolesCommand({})));
    expect(denied.name).toBe("AccessDenied");
    const who = await assumed.sts.send(new GetCallerIdentityCommand({}));
    expect(who.Arn).toBe(lease.arn);
  });

  it("sends the role's external id, which the trust policy checks", async () => {
    const guarded = await createAssumableRole(["iam:ListUsers"], { StringEquals: { "sts:ExternalId": "ext-42" } });
    const opts = { leaseId: "aws/sts/test/2", ttlSeconds: 900, sessionName: uniq("s"), roleArn: guarded, now: new Date() };
    const lease = await issueAssumedRole(clientsFor(motoMountSettings()), role({ roleArns: [guarded], externalId: "ext-42" }), request(), opts);
    expect(lease.arn).toContain(guarded.split("/").pop());

    const wrong = await errorOf(issueAssumedRole(clientsFor(motoMountSettings()), role({ roleArns: [guarded], externalId: "ext-other" }), request(), opts));
    expect(wrong.action).toBe("sts:AssumeRole");
    expect(wrong.code).toBe("AccessDenied");
  });

  it("fails naming sts:AssumeRole when the trust policy does not admit the engine", async () => {
    const { iam } = clients();
    const name = uniq("untrusted");
    const untrusted = await iam.send(
      new CreateRoleCommand({
        RoleName: name,
        AssumeRolePolicyDocument: JSON.stringify({
          Version: "2012-10-17",
          Statement: [{ Effect: "Allow", Principal: { AWS: `arn:aws:iam::${moto().accountId}:user/someone-else` }, Action: "sts:AssumeRole" }],
        }),
      }),
    );
    const err = await errorOf(
      issueAssumedRole(clientsFor(motoMountSettings()), role({}), request(), {
        leaseId: "l",
        ttlSeconds: 900,
        sessionName: "s",
        roleArn: untrusted.Role!.Arn!,
        now: new Date(),
      }),
    );
    expect(err.message).toMatch(/^sts:AssumeRole failed: AccessDenied/);
  });
});

describe("issueSessionToken", () => {
  it("calls GetSessionToken with the engine's IAM user keys and returns the expiry AWS set", async () => {
    // moto enforces a permission for sts:GetSessionToken (AWS does not); the user gets it.
    const user = await createUser(["iam:ListUsers", "sts:GetSessionToken"]);
    const engine = motoMountSettings({ accessKey: user.accessKey, secretKey: user.secretKey });
    const lease = await issueSessionToken(
      clientsFor(engine),
      role({ credentialType: "session_token" }),
      // moto's session keys are fixed example keys it rejects itself: no probe here.
      request({ waitUntilUsable: false }),
      { leaseId: "aws/sts/st/1", ttlSeconds: 1800, sessionName: "unused", now: new Date() },
    );
    expect(lease.credentialType).toBe("session_token");
    expect(lease.sessionToken).toBeTruthy();
    expect(lease.arn).toBeUndefined();
    expect(Math.abs(lease.leaseDuration - 1800)).toBeLessThanOrEqual(2);

    // Issued with the user's keys: a user without the permission is refused by moto.
    const other = await createUser(["iam:ListUsers"]);
    const refused = await errorOf(
      issueSessionToken(
        clientsFor(motoMountSettings({ accessKey: other.accessKey, secretKey: other.secretKey })),
        role({ credentialType: "session_token" }),
        request({ waitUntilUsable: false }),
        { leaseId: "aws/sts/st/2", ttlSeconds: 1800, sessionName: "unused", now: new Date() },
      ),
    );
    expect(refused.action).toBe("sts:GetSessionToken");
    expect(refused.code).toBe("AccessDenied");
  });

  it("issues without a usability probe even when asked (STS credentials are usable at once; moto would reject its own session keys)", async () => {
    const lease = await issueSessionToken(clientsFor(motoMountSettings()), role({ credentialType: "session_token" }), request({ waitUntilUsable: true }), {
      leaseId: "aws/sts/st/3",
      ttlSeconds: 900,
      sessionName: "unused",
      now: new Date(),
    });
    expect(lease.sessionToken).toBeTruthy();
    expect(lease.leaseDuration).toBe(900);
  });
});

describe("issueFederationToken", () => {
  it("returns a token for the requested name, expiring after the TTL", async () => {
    const name = uniq("fed").slice(0, 32);
    const now = new Date();
    const lease = await issueFederationToken(
      clientsFor(motoMountSettings()),
      role({ credentialType: "federation_token", policyDocument: allow(["iam:ListUsers"]) }),
      request(),
      { leaseId: "aws/sts/fed/1", ttlSeconds: 3000, sessionName: name, now },
    );
    expect(lease).toMatchObject({
      credentialType: "federation_token",
      username: name,
      arn: `arn:aws:sts::${moto().accountId}:federated-user/${name}`,
      renewable: false,
    });
    expect(lease.sessionToken).toBeTruthy();
    expect(Math.abs(lease.leaseDuration - 3000)).toBeLessThanOrEqual(2);
    expect(Math.abs(Date.parse(lease.expiresAt) - (now.getTime() + 3000_000))).toBeLessThanOrEqual(2000);
  });

  it("refuses a role without any policy", async () => {
    await expect(
      issueFederationToken(clientsFor(motoMountSettings()), role({ credentialType: "federation_token" }), request(), {
        leaseId: "aws/sts/fed/2",
        ttlSeconds: 900,
        sessionName: "fed",
        now: new Date(),
      }),
    ).rejects.toThrow(/^policyDocument: federation_token needs/);
  });
});

describe("sessionPolicy from real IAM groups", () => {
  it("reads the groups' managed and URL-encoded inline policies and merges them with the role's", async () => {
    const { iam } = clients();
    const group = uniq("group");
    await iam.send(new CreateGroupCommand({ GroupName: group }));
    // Characters that IAM URL-encodes in GetGroupPolicy answers.
    const inline = JSON.stringify({
      Version: "2012-10-17",
      Statement: { Effect: "Allow", Action: "s3:GetObject", Resource: "arn:aws:s3:::bucket/a b+c/%*" },
    });
    await iam.send(new PutGroupPolicyCommand({ GroupName: group, PolicyName: "inline", PolicyDocument: inline }));
    await iam.send(new AttachGroupPolicyCommand({ GroupName: group, PolicyArn: "arn:aws:iam::aws:policy/ReadOnlyAccess" }));

    const own = allow(["iam:ListUsers"]);
    const merged = await sessionPolicy(
      clientsFor(motoMountSettings()),
      role({ policyDocument: own, policyArns: ["arn:aws:iam::aws:policy/ReadOnlyAccess"], iamGroups: [group] }),
    );
    expect(merged.policyArns).toEqual(["arn:aws:iam::aws:policy/ReadOnlyAccess"]);
    expect(JSON.parse(merged.policy!)).toEqual({
      Version: "2012-10-17",
      Statement: [
        { Effect: "Allow", Action: ["iam:ListUsers"], Resource: "*" },
        { Effect: "Allow", Action: "s3:GetObject", Resource: "arn:aws:s3:::bucket/a b+c/%*" },
      ],
    });
  });

  it("names the action and group when a group does not exist", async () => {
    const missing = uniq("missing");
    const err = await errorOf(sessionPolicy(clientsFor(motoMountSettings()), role({ iamGroups: [missing] })));
    expect(err.action).toBe("iam:ListAttachedGroupPolicies");
    expect(err.message).toContain(`group "${missing}"`);
  });
});
