// iam_user issue / rollback / revoke / renew / check against an in-memory IAM that
// behaves like real IAM (paged Lists, DeleteConflict while anything is attached).
import { EntityAlreadyExistsException } from "@aws-sdk/client-iam";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { MalformedPolicyDocumentException, ServiceFailureException, LimitExceededException } from "@aws-sdk/client-iam";
import { GetCallerIdentityCommand, STSClient } from "@aws-sdk/client-sts";
import { mockClient } from "aws-sdk-client-mock";
import { EXPIRY_POLICY_NAME, checkIamUser, expiryDenyPolicy, issueIamUser, listTaggedUsers, renewIamUser, revokeIamUser } from "../../provider/aws/iamUser";
import { AwsCallError } from "../../provider/aws/errors";
import type { LeaseRequest, RoleSettings } from "../../provider/types";
import { ACCOUNT, FakeIam } from "./support/fakeIam";
import { clientsFor } from "../support/clients";
import { mountSettings } from "../support/fixtures";

const engine = mountSettings();

const role: RoleSettings = {
  name: "deploy",
  credentialType: "iam_user",
  policyDocument: '{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"s3:ListAllMyBuckets","Resource":"*"}]}',
  policyArns: ["arn:aws:iam::aws:policy/ReadOnlyAccess", `arn:aws:iam::${ACCOUNT}:policy/deploy`],
  roleArns: [],
  iamGroups: ["devs", "ops"],
  iamTags: { team: "infra" },
  defaultStsTtl: 0,
  maxStsTtl: 0,
  userPath: "/awslease/",
  permissionsBoundaryArn: `arn:aws:iam::${ACCOUNT}:policy/boundary`,
  sessionTags: {},
};

const request: LeaseRequest = { ttl: 0, waitUntilUsable: true };
const NOW = new Date("2030-01-02T03:04:05.678Z");
const LEASE_ID = "aws/creds/deploy/abcdefghijklmnopqrstuvwx";
const USERNAME = "awslease-aws-deploy-1893553445-abc";

let iam: FakeIam;
const sts = mockClient(STSClient);

/** Wait options with a fake clock: sleeping advances it, so tests run instantly. */
function fakeWait() {
  let clock = 0;
  return { now: () => clock, sleep: async (ms: number) => void (clock += ms), random: () => 0.5 };
}

function issue(overrides: Partial<RoleSettings> = {}, req: LeaseRequest = request) {
  return issueIamUser(clientsFor(engine), engine, { ...role, ...overrides }, req, {
    leaseId: LEASE_ID,
    username: USERNAME,
    ttlSeconds: 3600,
    now: NOW,
    wait: fakeWait(),
  });
}

beforeEach(() => {
  iam = new FakeIam();
  sts.reset();
  sts.on(GetCallerIdentityCommand).resolves({ Account: ACCOUNT, Arn: `arn:aws:iam::${ACCOUNT}:user/${USERNAME}`, UserId: "AIDA" });
});

afterEach(() => {
  iam.mock.restore();
});

describe("issueIamUser", () => {
  it("creates the user, attaches everything, adds the expiry deny policy, then the key, in that order", async () => {
    const lease = await issue();

    expect(iam.commandNames()).toEqual([
      "CreateUser",
      "AttachUserPolicy",
      "AttachUserPolicy",
      "PutUserPolicy",
      "PutUserPolicy",
      "AddUserToGroup",
      "AddUserToGroup",
      "CreateAccessKey",
    ]);
    expect(iam.inputsOf("CreateUser")[0]).toEqual({
      UserName: USERNAME,
      Path: "/awslease/",
      PermissionsBoundary: `arn:aws:iam::${ACCOUNT}:policy/boundary`,
      Tags: [
        { Key: "team", Value: "infra" },
        { Key: "awslease:mount", Value: "aws" },
        { Key: "awslease:role", Value: "deploy" },
        { Key: "awslease:lease-id", Value: LEASE_ID },
        { Key: "awslease:issued-at", Value: "2030-01-02T03:04:05Z" },
        { Key: "awslease:expires-at", Value: "2030-01-02T04:04:05Z" },
      ],
    });
    expect(iam.inputsOf("AttachUserPolicy")).toEqual(role.policyArns.map((PolicyArn) => ({ UserName: USERNAME, PolicyArn })));
    expect(iam.inputsOf("PutUserPolicy")).toEqual([
      { UserName: USERNAME, PolicyName: "deploy", PolicyDocument: role.policyDocument },
      { UserName: USERNAME, PolicyName: EXPIRY_POLICY_NAME, PolicyDocument: expiryDenyPolicy(new Date("2030-01-02T04:04:05Z")) },
    ]);
    expect(iam.inputsOf("AddUserToGroup")).toEqual([
      { UserName: USERNAME, GroupName: "devs" },
      { UserName: USERNAME, GroupName: "ops" },
    ]);
    expect(iam.inputsOf("CreateAccessKey")).toEqual([{ UserName: USERNAME }]);

    // Waited with the NEW key: three GetCallerIdentity calls signed by it.
    const probes = sts.commandCalls(GetCallerIdentityCommand);
    expect(probes).toHaveLength(3);
    const probeClient = probes[0].thisValue as STSClient;
    expect((await probeClient.config.credentials()).accessKeyId).toBe(lease.accessKey);

    expect(lease).toEqual({
      leaseId: LEASE_ID,
      credentialType: "iam_user",
      accessKey: "AKIAFAKE00000001",
      secretKey: "secret-of-AKIAFAKE00000001",
      arn: `arn:aws:iam::${ACCOUNT}:user/awslease/${USERNAME}`,
      username: USERNAME,
      issuedAt: "2030-01-02T03:04:05Z",
      expiresAt: "2030-01-02T04:04:05Z",
      leaseDuration: 3600,
      renewable: true,
      warnings: [],
    });
  });

  it("sends no optional fields the role does not set, and skips the wait when asked", async () => {
    await issue(
      { policyDocument: undefined, policyArns: [], iamGroups: [], iamTags: {}, permissionsBoundaryArn: undefined, userPath: "/" },
      { ttl: 0, waitUntilUsable: false },
    );
    expect(iam.commandNames()).toEqual(["CreateUser", "PutUserPolicy", "CreateAccessKey"]);
    expect(iam.inputsOf("CreateUser")[0]).not.toHaveProperty("PermissionsBoundary");
    expect(iam.inputsOf("PutUserPolicy")[0].PolicyName).toBe(EXPIRY_POLICY_NAME);
    expect(sts.calls()).toHaveLength(0);
  });

  it("a name collision with someone else's user: CreateUser fails and that user is not touched", async () => {
    iam.addUser(USERNAME, { tags: [{ Key: "awslease:lease-id", Value: "aws/creds/deploy/SomeoneElse" }] });
    const err = await issue().catch((e) => e);
    expect(err).toBeInstanceOf(AwsCallError);
    expect(err.action).toBe("iam:CreateUser");
    expect(err.code).toBe("EntityAlreadyExistsException");
    // Only a look at its tags: nothing that changes it.
    expect([...new Set(iam.commandNames())]).toEqual(["CreateUser", "ListUserTags"]);
    expect(iam.users.has(USERNAME)).toBe(true);
    expect(iam.applied.filter((a) => !a.startsWith("List"))).toEqual([]);
  });

  it("a CreateUser retried after a lost response meets its own user (EntityAlreadyExists): the issue goes on with it", async () => {
    // The first attempt created the user and its answer was lost; the SDK's retry gets this.
    iam.overrides.set("CreateUser", (i) => {
      iam.addUser(i.UserName, { path: i.Path, tags: i.Tags });
      throw new EntityAlreadyExistsException({ message: `User ${i.UserName} already exists`, $metadata: {} });
    });
    const lease = await issue();
    expect(lease.username).toBe(USERNAME);
    expect(lease.arn).toBe(`arn:aws:iam::${ACCOUNT}:user/awslease/${USERNAME}`);
    expect(
      iam
        .commandNames()
        .filter((n) => n !== "ListUserTags")
        .slice(0, 2),
    ).toEqual(["CreateUser", "GetUser"]);
    expect(iam.user(USERNAME).keys).toEqual([lease.accessKey]);
  });

  it("a CreateUser that fails after creating the user (e.g. the connection drops on every attempt): the user is removed", async () => {
    iam.overrides.set("CreateUser", (i) => {
      iam.addUser(i.UserName, { path: i.Path, tags: i.Tags });
      throw Object.assign(new Error("socket hang up"), { name: "TimeoutError", $metadata: {} });
    });
    const err = await issue().catch((e) => e);
    expect(err).toBeInstanceOf(AwsCallError);
    expect(err.action).toBe("iam:CreateUser");
    expect(err.code).toBe("TimeoutError");
    expect(err.message).not.toContain("rollback failed");
    expect(iam.users.has(USERNAME)).toBe(false);
  });

  // Each case: which step fails, and exactly what the rollback must remove.
  const failureCases: {
    step: string;
    action: string;
    arrange: () => void;
    removed: string[];
  }[] = [
    {
      step: "AttachUserPolicy (second policy ARN does not exist)",
      action: "iam:AttachUserPolicy",
      arrange: () => iam.policies.delete(`arn:aws:iam::${ACCOUNT}:policy/deploy`),
      removed: ["DetachUserPolicy arn:aws:iam::aws:policy/ReadOnlyAccess", "DeleteUser"],
    },
    {
      step: "PutUserPolicy of the role document",
      action: "iam:PutUserPolicy",
      arrange: () =>
        iam.overrides.set("PutUserPolicy", () => {
          throw new MalformedPolicyDocumentException({ message: "Syntax errors in policy.", $metadata: {} });
        }),
      removed: ["DetachUserPolicy arn:aws:iam::aws:policy/ReadOnlyAccess", `DetachUserPolicy arn:aws:iam::${ACCOUNT}:policy/deploy`, "DeleteUser"],
    },
    {
      step: "PutUserPolicy of the expiry deny policy",
      action: "iam:PutUserPolicy",
      arrange: () => {
        iam.overrides.set("PutUserPolicy", (i: any) => {
          if (i.PolicyName === EXPIRY_POLICY_NAME) {
            throw new LimitExceededException({ message: "Maximum policy size of 2048 bytes exceeded for user", $metadata: {} });
          }
          iam.user(i.UserName).inline.set(i.PolicyName, i.PolicyDocument);
          return {};
        });
      },
      removed: [
        "DetachUserPolicy arn:aws:iam::aws:policy/ReadOnlyAccess",
        `DetachUserPolicy arn:aws:iam::${ACCOUNT}:policy/deploy`,
        "DeleteUserPolicy deploy",
        "DeleteUser",
      ],
    },
    {
      step: "AddUserToGroup (second group does not exist)",
      action: "iam:AddUserToGroup",
      arrange: () => iam.groups.delete("ops"),
      removed: [
        "DetachUserPolicy arn:aws:iam::aws:policy/ReadOnlyAccess",
        `DetachUserPolicy arn:aws:iam::${ACCOUNT}:policy/deploy`,
        "DeleteUserPolicy deploy",
        `DeleteUserPolicy ${EXPIRY_POLICY_NAME}`,
        "RemoveUserFromGroup devs",
        "DeleteUser",
      ],
    },
    {
      step: "CreateAccessKey",
      action: "iam:CreateAccessKey",
      arrange: () => iam.failing.set("CreateAccessKey", new LimitExceededException({ message: "Cannot exceed quota for AccessKeysPerUser: 2", $metadata: {} })),
      removed: [
        "DetachUserPolicy arn:aws:iam::aws:policy/ReadOnlyAccess",
        `DetachUserPolicy arn:aws:iam::${ACCOUNT}:policy/deploy`,
        "DeleteUserPolicy deploy",
        `DeleteUserPolicy ${EXPIRY_POLICY_NAME}`,
        "RemoveUserFromGroup devs",
        "RemoveUserFromGroup ops",
        "DeleteUser",
      ],
    },
  ];

  for (const c of failureCases) {
    it(`a failing ${c.step} is rolled back completely and its own error is thrown`, async () => {
      c.arrange();
      const err = await issue().catch((e) => e);

      expect(err).toBeInstanceOf(AwsCallError);
      expect(err.action).toBe(c.action);
      expect(err.message).toMatch(new RegExp(`^${c.action} failed: `));
      expect(err.message).not.toContain("rollback failed");
      expect(iam.users.has(USERNAME)).toBe(false);
      expect(describeMutations()).toEqual(c.removed);
    });
  }

  it("a key that never becomes usable is rolled back (key included) and the timeout is thrown", async () => {
    sts.reset();
    sts
      .on(GetCallerIdentityCommand)
      .rejects(Object.assign(new Error("The security token included in the request is invalid."), { name: "InvalidClientTokenId" }));
    const err: Error = await issue().catch((e) => e);

    expect(err.message).toBe("new access key was not usable after 60s (sts:GetCallerIdentity kept failing: InvalidClientTokenId)");
    expect(err.message).not.toContain("secret-of-");
    expect(iam.users.has(USERNAME)).toBe(false);
    expect(describeMutations()).toEqual([
      "DeleteAccessKey AKIAFAKE00000001",
      "DetachUserPolicy arn:aws:iam::aws:policy/ReadOnlyAccess",
      `DetachUserPolicy arn:aws:iam::${ACCOUNT}:policy/deploy`,
      "DeleteUserPolicy deploy",
      `DeleteUserPolicy ${EXPIRY_POLICY_NAME}`,
      "RemoveUserFromGroup devs",
      "RemoveUserFromGroup ops",
      "DeleteUser",
    ]);
  });

  it("when the rollback fails too, the error keeps the original first and adds the rollback failure", async () => {
    iam.groups.delete("ops");
    iam.failing.set("DeleteUser", new ServiceFailureException({ message: "Internal failure", $metadata: {} }));
    const err = await issue().catch((e) => e);

    expect(err).toBeInstanceOf(AwsCallError);
    expect(err.action).toBe("iam:AddUserToGroup");
    expect(err.message).toMatch(/^iam:AddUserToGroup failed: NoSuchEntityException: The group with name ops cannot be found\.; rollback failed: /);
    expect(err.message).toContain("iam:DeleteUser failed: ServiceFailureException: Internal failure");
    expect(err.message).toContain(`IAM user ${USERNAME} may be left behind`);
  });

  it("a rollback failure after the timeout keeps the timeout message first and shows no secret", async () => {
    sts.reset();
    sts.on(GetCallerIdentityCommand).rejects(Object.assign(new Error("denied"), { name: "AccessDenied" }));
    iam.failing.set("DeleteUser", new ServiceFailureException({ message: "Internal failure", $metadata: {} }));
    const err: Error = await issue().catch((e) => e);
    expect(err.message).toMatch(
      /^new access key was not usable after 60s \(sts:GetCallerIdentity kept failing: AccessDenied\); rollback failed: iam:DeleteUser failed/,
    );
    expect(err.message).not.toContain("secret-of-");
  });
});

/** The removals that took effect (rollback / revoke), e.g. "DetachUserPolicy <arn>". */
function describeMutations(): string[] {
  return iam.applied.filter((m) => /^(Delete|Detach|Remove|Deactivate)/.test(m));
}

describe("revokeIamUser", () => {
  function loadedUser() {
    return iam.addUser("loaded", {
      keys: ["AKIA1", "AKIA2"],
      loginProfile: true,
      mfa: ["arn:aws:iam::123456789012:mfa/one", "arn:aws:iam::123456789012:mfa/two"],
      certs: ["CERT1", "CERT2"],
      ssh: ["APKA1", "APKA2"],
      serviceCredentials: ["ACCA1", "ACCA2"],
      managed: ["arn:aws:iam::aws:policy/ReadOnlyAccess", `arn:aws:iam::${ACCOUNT}:policy/deploy`],
      inline: new Map([
        ["deploy", "{}"],
        [EXPIRY_POLICY_NAME, "{}"],
      ]),
      groups: ["devs", "ops"],
    });
  }

  it("removes everything IAM requires, following every List call to its second page, then deletes the user", async () => {
    loadedUser();
    await expect(revokeIamUser(clientsFor(engine), "loaded")).resolves.toEqual({ existed: true });

    expect(iam.users.has("loaded")).toBe(false);
    // Each List was called twice: without a Marker, then with the Marker of page 1.
    for (const list of [
      "ListAccessKeys",
      "ListMFADevices",
      "ListSigningCertificates",
      "ListSSHPublicKeys",
      "ListServiceSpecificCredentials",
      "ListAttachedUserPolicies",
      "ListUserPolicies",
      "ListGroupsForUser",
    ]) {
      expect(
        iam.inputsOf(list).map((i) => i.Marker),
        list,
      ).toEqual([undefined, "1"]);
    }
    expect(describeMutations()).toEqual([
      "DeleteAccessKey AKIA1",
      "DeleteAccessKey AKIA2",
      "DeleteLoginProfile",
      "DeactivateMFADevice arn:aws:iam::123456789012:mfa/one",
      "DeactivateMFADevice arn:aws:iam::123456789012:mfa/two",
      "DeleteSigningCertificate CERT1",
      "DeleteSigningCertificate CERT2",
      "DeleteSSHPublicKey APKA1",
      "DeleteSSHPublicKey APKA2",
      "DeleteServiceSpecificCredential ACCA1",
      "DeleteServiceSpecificCredential ACCA2",
      "DetachUserPolicy arn:aws:iam::aws:policy/ReadOnlyAccess",
      `DetachUserPolicy arn:aws:iam::${ACCOUNT}:policy/deploy`,
      "DeleteUserPolicy deploy",
      `DeleteUserPolicy ${EXPIRY_POLICY_NAME}`,
      "RemoveUserFromGroup devs",
      "RemoveUserFromGroup ops",
      "DeleteUser",
    ]);
  });

  it("a user without a login profile is fine (DeleteLoginProfile's NoSuchEntity is not an error)", async () => {
    iam.addUser("plain", { keys: ["AKIA1"] });
    await expect(revokeIamUser(clientsFor(engine), "plain")).resolves.toEqual({ existed: true });
    expect(iam.users.has("plain")).toBe(false);
  });

  it("a user already gone is success with existed: false, after a single call", async () => {
    await expect(revokeIamUser(clientsFor(engine), "never-there")).resolves.toEqual({ existed: false });
    expect(iam.commandNames()).toEqual(["ListAccessKeys"]);
  });

  it("something removed concurrently (NoSuchEntity on a delete) does not stop the teardown", async () => {
    iam.addUser("racy", { keys: ["AKIA1"], inline: new Map([["p", "{}"]]) });
    iam.overrides.set("DeleteUserPolicy", () => {
      throw Object.assign(new Error("The user policy with name p cannot be found."), { name: "NoSuchEntityException" });
    });
    iam.overrides.set("DeleteUser", () => ({}));
    await expect(revokeIamUser(clientsFor(engine), "racy")).resolves.toEqual({ existed: true });
    expect(iam.commandNames().at(-1)).toBe("DeleteUser");
  });

  // Emulator gap: moto does not implement ListServiceSpecificCredentials; it answers
  // with a bare HTML 500 page that the SDK fails to parse.
  const motoUnimplemented = () =>
    Object.assign(
      new Error("char 'D' is not expected.:1:1\n  Deserialization error: to see the raw response, inspect the hidden field {error}.$response on this object."),
      {
        name: "Error",
        $metadata: { httpStatusCode: 500 },
      },
    );

  it("an unimplemented ListServiceSpecificCredentials (moto) counts as none", async () => {
    iam.addUser("on-moto", { keys: ["AKIA1"] });
    iam.overrides.set("ListServiceSpecificCredentials", () => {
      throw motoUnimplemented();
    });
    await expect(revokeIamUser(clientsFor(engine), "on-moto")).resolves.toEqual({ existed: true });
    expect(iam.users.has("on-moto")).toBe(false);
  });

  it("NotImplemented / HTTP 501 from ListServiceSpecificCredentials also count as none", async () => {
    for (const [i, err] of [
      Object.assign(new Error("not implemented"), { name: "NotImplemented" }),
      Object.assign(new Error("nope"), { name: "Error", $metadata: { httpStatusCode: 501 } }),
    ].entries()) {
      iam.addUser(`u${i}`);
      iam.overrides.set("ListServiceSpecificCredentials", () => {
        throw err;
      });
      await expect(revokeIamUser(clientsFor(engine), `u${i}`)).resolves.toEqual({ existed: true });
    }
  });

  it("if credentials stay behind anyway, IAM's DeleteConflict is reported with the action", async () => {
    // The list was unanswerable, but the user does hold a credential: DeleteUser refuses.
    iam.addUser("conflict", { serviceCredentials: ["ACCA1"] });
    iam.overrides.set("ListServiceSpecificCredentials", () => {
      throw motoUnimplemented();
    });
    const err = await revokeIamUser(clientsFor(engine), "conflict").catch((e) => e);
    expect(err).toBeInstanceOf(AwsCallError);
    expect(err.action).toBe("iam:DeleteUser");
    expect(err.message).toBe("iam:DeleteUser failed: DeleteConflictException: Cannot delete entity, must delete service-specific credentials first.");
    expect(iam.users.has("conflict")).toBe(true);
  });

  it("other List errors are thrown with their action", async () => {
    iam.addUser("denied");
    iam.failing.set("ListServiceSpecificCredentials", Object.assign(new Error("not authorized"), { name: "AccessDenied", $metadata: { httpStatusCode: 403 } }));
    const err = await revokeIamUser(clientsFor(engine), "denied").catch((e) => e);
    expect(err).toBeInstanceOf(AwsCallError);
    expect(err.action).toBe("iam:ListServiceSpecificCredentials");
    expect(iam.users.has("denied")).toBe(true);
  });
});

describe("renewIamUser / checkIamUser / listTaggedUsers", () => {
  it("renew rewrites the expiry deny policy and the expires-at tag", async () => {
    iam.addUser("u", {
      tags: [
        { Key: "awslease:expires-at", Value: "2030-01-01T00:00:00Z" },
        { Key: "awslease:mount", Value: "aws" },
      ],
    });
    await renewIamUser(clientsFor(engine), "u", new Date("2030-02-03T04:05:06.789Z"), "2030-01-01T00:00:00Z");
    expect(iam.users.get("u")!.inline.get(EXPIRY_POLICY_NAME)).toBe(expiryDenyPolicy(new Date("2030-02-03T04:05:06Z")));
    expect(iam.users.get("u")!.tags).toEqual([
      { Key: "awslease:mount", Value: "aws" },
      { Key: "awslease:expires-at", Value: "2030-02-03T04:05:06Z" },
    ]);
  });

  it("renew of a deleted user fails naming the action", async () => {
    const err = await renewIamUser(clientsFor(engine), "gone", new Date(), "2030-01-01T00:00:00Z").catch((e) => e);
    expect(err).toBeInstanceOf(AwsCallError);
    expect(err.action).toBe("iam:TagUser");
  });

  describe("renew moves the tag and the deny policy together, or neither", () => {
    const oldPolicy = expiryDenyPolicy(new Date("2030-01-01T00:00:00Z"));
    const denied = () => Object.assign(new Error("not allowed"), { name: "AccessDenied", $metadata: {} });
    beforeEach(() => {
      iam.addUser("u", { tags: [{ Key: "awslease:expires-at", Value: "2030-01-01T00:00:00Z" }], inline: new Map([[EXPIRY_POLICY_NAME, oldPolicy]]) });
    });

    it("TagUser denied: nothing moved", async () => {
      iam.failing.set("TagUser", denied());
      const err = await renewIamUser(clientsFor(engine), "u", new Date("2030-02-03T00:00:00Z"), "2030-01-01T00:00:00Z").catch((e) => e);
      expect(err.action).toBe("iam:TagUser");
      expect(iam.users.get("u")!.inline.get(EXPIRY_POLICY_NAME)).toBe(oldPolicy);
      expect(iam.users.get("u")!.tags).toEqual([{ Key: "awslease:expires-at", Value: "2030-01-01T00:00:00Z" }]);
    });

    it("PutUserPolicy denied: the tag is put back, the policy keeps the old expiry", async () => {
      iam.failing.set("PutUserPolicy", denied());
      const err = await renewIamUser(clientsFor(engine), "u", new Date("2030-02-03T00:00:00Z"), "2030-01-01T00:00:00Z").catch((e) => e);
      expect(err.action).toBe("iam:PutUserPolicy");
      expect(iam.users.get("u")!.inline.get(EXPIRY_POLICY_NAME)).toBe(oldPolicy);
      expect(iam.users.get("u")!.tags).toEqual([{ Key: "awslease:expires-at", Value: "2030-01-01T00:00:00Z" }]);
      expect(iam.inputsOf("TagUser").map((i) => i.Tags[0].Value)).toEqual(["2030-02-03T00:00:00Z", "2030-01-01T00:00:00Z"]);
    });
  });

  it("the expiry policy denies every action once aws:CurrentTime is past the expiry", () => {
    expect(JSON.parse(expiryDenyPolicy(new Date("2030-01-02T03:04:05.999Z")))).toEqual({
      Version: "2012-10-17",
      Statement: [
        {
          Effect: "Deny",
          Action: "*",
          Resource: "*",
          Condition: { DateGreaterThan: { "aws:CurrentTime": "2030-01-02T03:04:05Z" } },
        },
      ],
    });
  });

  it("check: ok while the key exists (found on a later page), gone when the key or the user is gone", async () => {
    iam.addUser("u", { keys: ["AKIA1", "AKIA2"] });
    await expect(checkIamUser(clientsFor(engine), "u", "AKIA2")).resolves.toBe("ok");
    await expect(checkIamUser(clientsFor(engine), "u", "AKIA3")).resolves.toBe("gone");
    await expect(checkIamUser(clientsFor(engine), "nobody", "AKIA1")).resolves.toBe("gone");
  });

  it("listTaggedUsers pages through users and tags and returns only this table's users of this mount", async () => {
    iam.addUser("mine", {
      tags: [
        { Key: "awslease:mount", Value: "aws" },
        { Key: "awslease:table", Value: "table-1" },
        { Key: "awslease:lease-id", Value: "aws/creds/deploy/x" },
        { Key: "awslease:role", Value: "deploy" },
        { Key: "awslease:expires-at", Value: "2030-01-01T00:00:00Z" },
      ],
    });
    iam.addUser("other-mount", { tags: [{ Key: "awslease:mount", Value: "aws-prod" }] });
    iam.addUser("untagged");
    iam.addUser("mine-too", {
      tags: [
        { Key: "team", Value: "x" },
        { Key: "awslease:mount", Value: "aws" },
        { Key: "awslease:table", Value: "table-1" },
      ],
    });
    // Same account and mount name, another lease table (another AWSLEASE_HOME or backend).
    iam.addUser("other-table", {
      tags: [
        { Key: "awslease:mount", Value: "aws" },
        { Key: "awslease:table", Value: "table-2" },
      ],
    });
    iam.addUser("no-table", { tags: [{ Key: "awslease:mount", Value: "aws" }] });

    await expect(listTaggedUsers(clientsFor({ ...engine, tableId: "table-1" }), { ...engine, tableId: "table-1" })).resolves.toEqual([
      { username: "mine", leaseId: "aws/creds/deploy/x", role: "deploy", expiresAt: "2030-01-01T00:00:00Z" },
      { username: "mine-too" },
    ]);
    expect(iam.inputsOf("ListUsers").map((i) => i.Marker)).toEqual([undefined, "1", "2", "3", "4", "5"]);
  });
});
