// STS issue paths with aws-sdk-client-mock: the exact parameters sent to AWS.
// These cover what moto cannot show: it does not enforce session policies (Policy,
// PolicyArns) of AssumeRole/GetFederationToken, ignores session tags and external
// ids, and its GetFederationToken/GetSessionToken keys are fixed example keys that
// it does not accept itself.
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { mockClient } from "aws-sdk-client-mock";
import { AssumeRoleCommand, GetCallerIdentityCommand, GetFederationTokenCommand, GetSessionTokenCommand, STSClient } from "@aws-sdk/client-sts";
import { GetGroupPolicyCommand, IAMClient, ListAttachedGroupPoliciesCommand, ListGroupPoliciesCommand } from "@aws-sdk/client-iam";
import { callerIdentity, issueAssumedRole, issueFederationToken, issueSessionToken, type StsIssueOptions } from "../../provider/aws/sts";
import type { LeaseRequest, RoleSettings } from "../../provider/types";
import { roleSettings, mountSettings } from "../support/fixtures";
import { clientsFor } from "../support/clients";

const sts = mockClient(STSClient);
const iam = mockClient(IAMClient);

const engine = mountSettings({ accessKey: "AKIAROOTROOTROOT" });

function role(overrides: Partial<RoleSettings> = {}): RoleSettings {
  return roleSettings({ credentialType: "assumed_role", ...overrides });
}

const request: LeaseRequest = { ttl: 0, waitUntilUsable: false };
const now = new Date("2024-05-01T12:00:00.250Z");
const expiration = new Date("2024-05-01T12:15:00.000Z");
const credentials = {
  AccessKeyId: "ASIANEWNEWNEW",
  SecretAccessKey: "new-secret",
  SessionToken: "new-token",
  Expiration: expiration,
};

function opts(overrides: Partial<StsIssueOptions> = {}): StsIssueOptions {
  return { leaseId: "aws/sts/deploy/abc", ttlSeconds: 900, sessionName: "vault-1714564800-abc", now, ...overrides };
}

const ROLE_ARN = "arn:aws:iam::123456789012:role/deploy";
const readBucket = JSON.stringify({
  Version: "2012-10-17",
  Statement: [{ Effect: "Allow", Action: "s3:GetObject", Resource: "*" }],
});
const listUsers = { Version: "2012-10-17", Statement: { Effect: "Allow", Action: "iam:ListUsers", Resource: "*" } };

/** One group "ops" with a managed policy and a URL-encoded inline policy, as IAM returns it. */
function mockOpsGroup() {
  iam.on(ListAttachedGroupPoliciesCommand, { GroupName: "ops" }).resolves({
    AttachedPolicies: [
      { PolicyName: "ReadOnlyAccess", PolicyArn: "arn:aws:iam::aws:policy/ReadOnlyAccess" },
      { PolicyName: "Shared", PolicyArn: "arn:aws:iam::123456789012:policy/shared" },
    ],
    IsTruncated: false,
  });
  iam.on(ListGroupPoliciesCommand, { GroupName: "ops" }).resolves({ PolicyNames: ["list-users"], IsTruncated: false });
  iam
    .on(GetGroupPolicyCommand, { GroupName: "ops", PolicyName: "list-users" })
    .resolves({ GroupName: "ops", PolicyName: "list-users", PolicyDocument: encodeURIComponent(JSON.stringify(listUsers)) });
}

beforeEach(() => {
  sts.reset();
  iam.reset();
});
afterEach(() => {
  sts.reset();
  iam.reset();
});

describe("issueAssumedRole", () => {
  it("sends RoleArn, session name, duration, merged group policy, ARNs, tags and external id (moto ignores all session policy)", async () => {
    mockOpsGroup();
    sts.on(AssumeRoleCommand).resolves({
      Credentials: credentials,
      AssumedRoleUser: { Arn: "arn:aws:sts::123456789012:assumed-role/deploy/vault-1714564800-abc", AssumedRoleId: "AROA:x" },
    });
    const lease = await issueAssumedRole(
      clientsFor(engine),
      role({
        policyDocument: readBucket,
        policyArns: ["arn:aws:iam::123456789012:policy/shared", "arn:aws:iam::123456789012:policy/own"],
        iamGroups: ["ops"],
        sessionTags: { team: "platform", env: "prod" },
        externalId: "ext-123",
      }),
      request,
      opts({ roleArn: ROLE_ARN }),
    );

    const calls = sts.commandCalls(AssumeRoleCommand);
    expect(calls).toHaveLength(1);
    expect(calls[0].args[0].input).toEqual({
      RoleArn: ROLE_ARN,
      RoleSessionName: "vault-1714564800-abc",
      DurationSeconds: 900,
      Policy: JSON.stringify({
        Version: "2012-10-17",
        Statement: [{ Effect: "Allow", Action: "s3:GetObject", Resource: "*" }, listUsers.Statement],
      }),
      PolicyArns: [
        { arn: "arn:aws:iam::123456789012:policy/shared" },
        { arn: "arn:aws:iam::123456789012:policy/own" },
        { arn: "arn:aws:iam::aws:policy/ReadOnlyAccess" },
      ],
      Tags: [
        { Key: "team", Value: "platform" },
        { Key: "env", Value: "prod" },
      ],
      ExternalId: "ext-123",
    });
    expect(lease).toEqual({
      leaseId: "aws/sts/deploy/abc",
      credentialType: "assumed_role",
      accessKey: "ASIANEWNEWNEW",
      secretKey: "new-secret",
      sessionToken: "new-token",
      arn: "arn:aws:sts::123456789012:assumed-role/deploy/vault-1714564800-abc",
      username: "vault-1714564800-abc",
      // What a revoke denies: AssumedRoleId is the session's aws:userid; the role is the ARN's name.
      sessionRevocation: { principal: "role", name: "deploy", sessionId: "AROA:x" },
      issuedAt: "2024-05-01T12:00:00Z",
      expiresAt: "2024-05-01T12:15:00Z",
      leaseDuration: 900,
      renewable: false,
      warnings: [],
    });
    // No probe was asked for.
    expect(sts.commandCalls(GetCallerIdentityCommand)).toHaveLength(0);
  });

  it("omits every empty optional parameter and reads no group policies without groups", async () => {
    sts.on(AssumeRoleCommand).resolves({ Credentials: credentials, AssumedRoleUser: { Arn: "arn:x", AssumedRoleId: "y" } });
    await issueAssumedRole(clientsFor(engine), role(), request, opts({ roleArn: ROLE_ARN }));
    expect(sts.commandCalls(AssumeRoleCommand)[0].args[0].input).toEqual({
      RoleArn: ROLE_ARN,
      RoleSessionName: "vault-1714564800-abc",
      DurationSeconds: 900,
    });
    expect(iam.calls()).toHaveLength(0);
  });

  it("passes the role's policy document through unchanged when groups add no inline policy", async () => {
    iam.on(ListAttachedGroupPoliciesCommand).resolves({ AttachedPolicies: [], IsTruncated: false });
    iam.on(ListGroupPoliciesCommand).resolves({ PolicyNames: [], IsTruncated: false });
    sts.on(AssumeRoleCommand).resolves({ Credentials: credentials, AssumedRoleUser: { Arn: "arn:x", AssumedRoleId: "y" } });
    await issueAssumedRole(clientsFor(engine), role({ policyDocument: readBucket, iamGroups: ["empty"] }), request, opts({ roleArn: ROLE_ARN }));
    const input = sts.commandCalls(AssumeRoleCommand)[0].args[0].input;
    expect(input.Policy).toBe(readBucket);
    expect(input.PolicyArns).toBeUndefined();
  });

  it("makes no usability probe even when asked: STS credentials are usable at once", async () => {
    sts.on(AssumeRoleCommand).resolves({ Credentials: credentials, AssumedRoleUser: { Arn: "arn:x", AssumedRoleId: "y" } });
    sts.on(GetCallerIdentityCommand).rejects(Object.assign(new Error("invalid"), { name: "InvalidClientTokenId" }));
    const lease = await issueAssumedRole(clientsFor(engine), role(), { ...request, waitUntilUsable: true }, opts({ roleArn: ROLE_ARN }));
    expect(lease.accessKey).toBe("ASIANEWNEWNEW");
    expect(sts.commandCalls(GetCallerIdentityCommand)).toHaveLength(0);
  });

  it("names the group and action when reading group policies fails", async () => {
    iam.on(ListAttachedGroupPoliciesCommand).rejects(Object.assign(new Error("The group with name missing cannot be found."), { name: "NoSuchEntity" }));
    await expect(issueAssumedRole(clientsFor(engine), role({ iamGroups: ["missing"] }), request, opts({ roleArn: ROLE_ARN }))).rejects.toThrow(
      /iam:ListAttachedGroupPolicies failed: NoSuchEntity: group "missing"/,
    );
    expect(sts.commandCalls(AssumeRoleCommand)).toHaveLength(0);
  });

  it("refuses to run without a role ARN", async () => {
    await expect(issueAssumedRole(clientsFor(engine), role(), request, opts())).rejects.toThrow(/^roleArn: /);
    expect(sts.calls()).toHaveLength(0);
  });

  it("names sts:AssumeRole when AWS refuses", async () => {
    sts.on(AssumeRoleCommand).rejects(Object.assign(new Error("not authorized"), { name: "AccessDenied" }));
    await expect(issueAssumedRole(clientsFor(engine), role(), request, opts({ roleArn: ROLE_ARN }))).rejects.toThrow(
      "sts:AssumeRole failed: AccessDenied: not authorized",
    );
  });
});

describe("issueFederationToken", () => {
  it("sends Name, DurationSeconds, Policy and PolicyArns (moto ignores the session policy)", async () => {
    mockOpsGroup();
    sts.on(GetFederationTokenCommand).resolves({
      Credentials: credentials,
      FederatedUser: { Arn: "arn:aws:sts::123456789012:federated-user/vault-fed", FederatedUserId: "123456789012:vault-fed" },
    });
    const lease = await issueFederationToken(
      clientsFor(engine),
      role({ credentialType: "federation_token", policyDocument: readBucket, iamGroups: ["ops"] }),
      request,
      opts({ sessionName: "vault-fed", ttlSeconds: 900 }),
    );
    expect(sts.commandCalls(GetFederationTokenCommand)[0].args[0].input).toEqual({
      Name: "vault-fed",
      DurationSeconds: 900,
      Policy: JSON.stringify({
        Version: "2012-10-17",
        Statement: [{ Effect: "Allow", Action: "s3:GetObject", Resource: "*" }, listUsers.Statement],
      }),
      PolicyArns: [{ arn: "arn:aws:iam::aws:policy/ReadOnlyAccess" }, { arn: "arn:aws:iam::123456789012:policy/shared" }],
    });
    expect(lease).toMatchObject({
      credentialType: "federation_token",
      arn: "arn:aws:sts::123456789012:federated-user/vault-fed",
      username: "vault-fed",
      sessionToken: "new-token",
      expiresAt: "2024-05-01T12:15:00Z",
      leaseDuration: 900,
      renewable: false,
    });
  });

  it("sends only PolicyArns when the role has ARNs but no document", async () => {
    sts.on(GetFederationTokenCommand).resolves({ Credentials: credentials, FederatedUser: { Arn: "arn:x", FederatedUserId: "y" } });
    await issueFederationToken(
      clientsFor(engine),
      role({ credentialType: "federation_token", policyArns: ["arn:aws:iam::aws:policy/ReadOnlyAccess"] }),
      request,
      opts({ sessionName: "vault-fed" }),
    );
    expect(sts.commandCalls(GetFederationTokenCommand)[0].args[0].input).toEqual({
      Name: "vault-fed",
      DurationSeconds: 900,
      PolicyArns: [{ arn: "arn:aws:iam::aws:policy/ReadOnlyAccess" }],
    });
  });

  it("refuses a role without any policy instead of issuing the engine's own permissions", async () => {
    await expect(
      issueFederationToken(clientsFor(engine), role({ credentialType: "federation_token" }), request, opts({ sessionName: "vault-fed" })),
    ).rejects.toMatchObject({ name: "ValidationError", failures: [{ field: "policyDocument" }] });
    expect(sts.calls()).toHaveLength(0);
  });

  it("refuses when the groups turn out to have no policies either", async () => {
    iam.on(ListAttachedGroupPoliciesCommand).resolves({ AttachedPolicies: [], IsTruncated: false });
    iam.on(ListGroupPoliciesCommand).resolves({ PolicyNames: [], IsTruncated: false });
    await expect(
      issueFederationToken(clientsFor(engine), role({ credentialType: "federation_token", iamGroups: ["empty"] }), request, opts({ sessionName: "vault-fed" })),
    ).rejects.toThrow(/^policyDocument: /);
    expect(sts.calls()).toHaveLength(0);
  });

  it("makes no usability probe even when asked (moto rejects its own federation keys; AWS checks them on use)", async () => {
    sts.on(GetFederationTokenCommand).resolves({ Credentials: credentials, FederatedUser: { Arn: "arn:x", FederatedUserId: "y" } });
    sts.on(GetCallerIdentityCommand).rejects(Object.assign(new Error("invalid"), { name: "InvalidClientTokenId" }));
    const lease = await issueFederationToken(
      clientsFor(engine),
      role({ credentialType: "federation_token", policyDocument: readBucket }),
      { ...request, waitUntilUsable: true },
      opts({ sessionName: "vault-fed" }),
    );
    expect(lease.accessKey).toBe("ASIANEWNEWNEW");
    // The one GetCallerIdentity is the root's (who issues, for revoke), not a probe of the new keys;
    // when it fails, the lease is still issued, just without a session a revoke could deny.
    expect(sts.commandCalls(GetCallerIdentityCommand)).toHaveLength(1);
    expect(lease.sessionRevocation).toBeUndefined();
  });

  it("records the session's aws:userid and the IAM user that issued it, for revoke to deny it there", async () => {
    sts.on(GetFederationTokenCommand).resolves({
      Credentials: credentials,
      FederatedUser: { Arn: "arn:aws:sts::123456789012:federated-user/vault-fed", FederatedUserId: "123456789012:vault-fed" },
    });
    sts.on(GetCallerIdentityCommand).resolves({ Account: "123456789012", Arn: "arn:aws:iam::123456789012:user/ops/awslease-root", UserId: "AIDAROOT" });
    const fed = role({ credentialType: "federation_token", policyDocument: readBucket });
    const lease = await issueFederationToken(clientsFor(engine), fed, request, opts({ sessionName: "vault-fed" }));
    expect(lease.sessionRevocation).toEqual({ principal: "user", name: "awslease-root", sessionId: "123456789012:vault-fed" });
    // The account's root user (or a role) cannot carry a user policy: nothing to deny on.
    sts.on(GetCallerIdentityCommand).resolves({ Account: "123456789012", Arn: "arn:aws:iam::123456789012:root", UserId: "123456789012" });
    expect((await issueFederationToken(clientsFor(engine), fed, request, opts({ sessionName: "vault-fed" }))).sessionRevocation).toBeUndefined();
  });
});

describe("issueSessionToken", () => {
  it("sends SerialNumber and TokenCode for an MFA role (moto cannot check MFA codes)", async () => {
    sts.on(GetSessionTokenCommand).resolves({ Credentials: credentials });
    const lease = await issueSessionToken(
      clientsFor(engine),
      role({ credentialType: "session_token", mfaSerialNumber: "arn:aws:iam::123456789012:mfa/ci" }),
      { ...request, mfaCode: "123456" },
      opts({ ttlSeconds: 1800 }),
    );
    expect(sts.commandCalls(GetSessionTokenCommand)[0].args[0].input).toEqual({
      DurationSeconds: 1800,
      SerialNumber: "arn:aws:iam::123456789012:mfa/ci",
      TokenCode: "123456",
    });
    expect(lease.credentialType).toBe("session_token");
    expect(lease.arn).toBeUndefined();
    expect(lease.sessionToken).toBe("new-token");
    expect(lease.leaseDuration).toBe(900); // from the Expiration AWS returned, not the request
  });

  it("sends only DurationSeconds without MFA", async () => {
    sts.on(GetSessionTokenCommand).resolves({ Credentials: credentials });
    await issueSessionToken(clientsFor(engine), role({ credentialType: "session_token" }), request, opts());
    expect(sts.commandCalls(GetSessionTokenCommand)[0].args[0].input).toEqual({ DurationSeconds: 900 });
  });

  it("asks for the MFA code before calling AWS", async () => {
    await expect(
      issueSessionToken(clientsFor(engine), role({ credentialType: "session_token", mfaSerialNumber: "arn:aws:iam::123456789012:mfa/ci" }), request, opts()),
    ).rejects.toThrow(/^mfaCode: /);
    expect(sts.calls()).toHaveLength(0);
  });

  it("makes no usability probe even when asked, like the other STS types", async () => {
    sts.on(GetSessionTokenCommand).resolves({ Credentials: credentials });
    sts.on(GetCallerIdentityCommand).rejects(Object.assign(new Error("invalid"), { name: "InvalidClientTokenId" }));
    const lease = await issueSessionToken(clientsFor(engine), role({ credentialType: "session_token" }), { ...request, waitUntilUsable: true }, opts());
    expect(lease.accessKey).toBe("ASIANEWNEWNEW");
    expect(sts.commandCalls(GetCallerIdentityCommand)).toHaveLength(0);
  });

  it("reports an incomplete AWS answer naming the action", async () => {
    sts.on(GetSessionTokenCommand).resolves({ Credentials: { ...credentials, SessionToken: undefined } });
    await expect(issueSessionToken(clientsFor(engine), role({ credentialType: "session_token" }), request, opts())).rejects.toThrow(
      /^sts:GetSessionToken failed: IncompleteResponse/,
    );
  });
});

describe("callerIdentity", () => {
  it("returns account, ARN and user id of the root credentials", async () => {
    let usedKey: unknown;
    sts.on(GetCallerIdentityCommand).callsFake(async (_input, getClient) => {
      usedKey = (await getClient().config.credentials()).accessKeyId;
      return { Account: "123456789012", Arn: "arn:aws:iam::123456789012:user/root", UserId: "AIDAROOT" };
    });
    await expect(callerIdentity(clientsFor(engine))).resolves.toEqual({
      accountId: "123456789012",
      arn: "arn:aws:iam::123456789012:user/root",
      userId: "AIDAROOT",
    });
    expect(usedKey).toBe("AKIAROOTROOTROOT");
  });

  it("names sts:GetCallerIdentity when the root credentials are rejected", async () => {
    sts.on(GetCallerIdentityCommand).rejects(Object.assign(new Error("invalid"), { name: "InvalidClientTokenId" }));
    await expect(callerIdentity(clientsFor(engine))).rejects.toThrow("sts:GetCallerIdentity failed: InvalidClientTokenId: invalid");
  });
});
