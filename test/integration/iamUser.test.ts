// iam_user leases against a real moto server with IAM policy enforcement.
//
// Every key carries the awslease-expiry deny policy (Deny * once aws:CurrentTime is past
// the expiry). moto 5.2 alone ignores date conditions and would deny everything from
// the start; the tests' moto (scripts/moto_server.py) registers the Date operators and
// aws:CurrentTime, so these tests see AWS's behaviour: allowed before, denied after.
import { beforeAll, describe, expect, it } from "vitest";
import {
  AddUserToGroupCommand,
  AttachUserPolicyCommand,
  CreateAccessKeyCommand,
  CreateGroupCommand,
  CreateLoginProfileCommand,
  CreatePolicyCommand,
  CreateUserCommand,
  CreateVirtualMFADeviceCommand,
  EnableMFADeviceCommand,
  GetGroupCommand,
  GetPolicyCommand,
  GetUserCommand,
  GetLoginProfileCommand,
  GetUserPolicyCommand,
  ListAccessKeysCommand,
  ListMFADevicesCommand,
  ListSSHPublicKeysCommand,
  ListUsersCommand,
  ListVirtualMFADevicesCommand,
  ListUserTagsCommand,
  PutUserPolicyCommand,
  UploadSSHPublicKeyCommand,
  type IAMClient,
} from "@aws-sdk/client-iam";
import { GetCallerIdentityCommand } from "@aws-sdk/client-sts";
import { EXPIRY_POLICY_NAME, listTaggedUsers, renewIamUser, revokeIamUser } from "../../provider/aws/iamUser";
import { checkLease, issueLease, revokeLease } from "../../provider/aws/leases";
import { AwsCallError } from "../../provider/aws/errors";
import type { MountSettings, IssuedLease, RoleSettings } from "../../provider/types";
import { clients, motoMountSettings, moto, uniq, errorName } from "../support/aws";
import { roleSettings } from "../support/fixtures";
import { clientsFor } from "../support/clients";

const SSH_PUBLIC_KEY =
  "ssh-rsa AAAAB3NzaC1yc2EAAAADAQABAAABAQDGk0nNvzOGCAz5wvhG8HMzmPNlL2smlD3DyNnAH7gCHh6+9uqJt3Jp6Mw0P4d0sd6AvVmR+FCnO5z8pOUNXvE8dTgI9d2ufeJKtFFPvY+h4vHnCa0Yb+dLjgA6ChU1RYw3F5KA4iKKA2zp0TXTT6lYB1rQhaeNBUgEIL2J1hQXDnPtM4LRc4mJGCOgKPSRaLXSByz9bhV0EyKeLXjL5CKRR/jr7d2fUEvnxZVCRs72DQ3MhRdHGrTqPV2JGA2M7RZCRFKW8tJC4uYUKlSqNrAvAQAmXVvuQyVsPUvAaA2DIR3Fp4LMwMWavbs+BWh7a62xlJ3j0qDkyVkkCdS6ljaP test@example";

let engine: MountSettings;
/** The same mount, naming users u-<role> so a test knows the name of a user that must be gone. */
let namedUsers: MountSettings;
let root: IAMClient;

/** A role with its own name (tests share one moto). */
function role(overrides: Partial<RoleSettings> = {}): RoleSettings {
  return roleSettings({
    name: uniq("role"),
    policyDocument: JSON.stringify({
      Version: "2012-10-17",
      Statement: [{ Effect: "Allow", Action: ["iam:GetUser", "iam:ListUsers"], Resource: "*" }],
    }),
    ...overrides,
  });
}

async function userExists(username: string): Promise<boolean> {
  return (await errorName(root.send(new GetUserCommand({ UserName: username })))) === "no error";
}

function keyClients(lease: IssuedLease) {
  return clients(lease.accessKey, lease.secretKey);
}

beforeAll(() => {
  // A mount of our own, so listTaggedUsers sees only this file's users.
  engine = motoMountSettings({ mount: uniq("iamuser") });
  namedUsers = { ...engine, usernameTemplate: '{{ printf "u-%s" .PolicyName }}' };
  root = clients().iam;
});

describe("iam_user leases on moto", () => {
  it("issues a key that can do what the role allows and nothing else; revoke makes it invalid and deletes the user", async () => {
    const r = role();
    const lease = await issueLease(clientsFor(engine), engine, r, { ttl: 0, waitUntilUsable: true });
    expect(lease.credentialType).toBe("iam_user");
    expect(lease.leaseId).toMatch(new RegExp(`^${engine.mount}/creds/${r.name}/[A-Za-z0-9]{24}$`));
    expect(lease.arn).toBe(`arn:aws:iam::${moto().accountId}:user/${lease.username}`);
    expect(lease.leaseDuration).toBe(3600);

    const key = keyClients(lease);
    const me = await key.sts.send(new GetCallerIdentityCommand({}));
    expect(me.Arn).toBe(lease.arn);

    // The expiry policy is in place and not yet in force: the role's permissions apply.
    const self = await key.iam.send(new GetUserCommand({ UserName: lease.username }));
    expect(self.User?.UserName).toBe(lease.username);
    await expect(key.iam.send(new ListUsersCommand({}))).resolves.toHaveProperty("Users");
    expect(await errorName(key.iam.send(new CreateUserCommand({ UserName: uniq("not-allowed") })))).toBe("AccessDenied");

    await expect(checkLease(clientsFor(engine), lease)).resolves.toBe("ok");
    const revoked = await revokeLease(clientsFor(engine), lease);
    expect(revoked).toEqual({ revoked: true, message: `deleted IAM user ${lease.username} and its access keys` });

    expect(["InvalidClientTokenId", "InvalidAccessKeyId"]).toContain(await errorName(key.sts.send(new GetCallerIdentityCommand({}))));
    expect(await userExists(lease.username!)).toBe(false);
    await expect(checkLease(clientsFor(engine), lease)).resolves.toBe("gone");
    // Revoking again is fine: the user is already gone.
    await expect(revokeLease(clientsFor(engine), lease)).resolves.toEqual({ revoked: true, message: `IAM user ${lease.username} was already gone` });
  });

  it("tags the user and attaches the expiry deny policy, which does not deny before the expiry", async () => {
    const r = role({ iamTags: { team: "infra" } });
    const lease = await issueLease(clientsFor(engine), engine, r, { ttl: 900, waitUntilUsable: true });
    try {
      const tags = await root.send(new ListUserTagsCommand({ UserName: lease.username }));
      expect(Object.fromEntries((tags.Tags ?? []).map((t) => [t.Key, t.Value]))).toEqual({
        team: "infra",
        "awslease:mount": engine.mount,
        "awslease:role": r.name,
        "awslease:lease-id": lease.leaseId,
        "awslease:issued-at": lease.issuedAt,
        "awslease:expires-at": lease.expiresAt,
      });
      const policy = await root.send(new GetUserPolicyCommand({ UserName: lease.username, PolicyName: EXPIRY_POLICY_NAME }));
      expect(JSON.parse(decodeURIComponent(policy.PolicyDocument!))).toMatchObject({
        Statement: [{ Effect: "Deny", Action: "*", Condition: { DateGreaterThan: { "aws:CurrentTime": lease.expiresAt } } }],
      });
      expect(await errorName(keyClients(lease).iam.send(new GetUserCommand({ UserName: lease.username })))).toBe("no error");
    } finally {
      await revokeIamUser(clientsFor(engine), lease.username!);
    }
  });

  it("renewIamUser to a time in the past rewrites the deny policy and tag, and the key is denied", async () => {
    const lease = await issueLease(clientsFor(engine), engine, role(), { ttl: 900, waitUntilUsable: true });
    try {
      const key = keyClients(lease);
      await expect(key.iam.send(new GetUserCommand({ UserName: lease.username }))).resolves.toHaveProperty("User");

      const past = new Date(Date.now() - 3600_000);
      past.setMilliseconds(0);
      await renewIamUser(clientsFor(engine), lease.username!, past, lease.expiresAt);

      expect(await errorName(key.iam.send(new GetUserCommand({ UserName: lease.username })))).toBe("AccessDenied");
      const policy = await root.send(new GetUserPolicyCommand({ UserName: lease.username, PolicyName: EXPIRY_POLICY_NAME }));
      expect(decodeURIComponent(policy.PolicyDocument!)).toContain(`"aws:CurrentTime":"${past.toISOString().replace(".000Z", "Z")}"`);
      const tags = await root.send(new ListUserTagsCommand({ UserName: lease.username }));
      expect(tags.Tags?.find((t) => t.Key === "awslease:expires-at")?.Value).toBe(past.toISOString().replace(".000Z", "Z"));
    } finally {
      await revokeIamUser(clientsFor(engine), lease.username!);
    }
  });

  it("a failed issue (policy ARN that does not exist) leaves no user behind", async () => {
    const r = role({ policyArns: [`arn:aws:iam::${moto().accountId}:policy/${uniq("missing")}`] });
    const err = await issueLease(clientsFor(namedUsers), namedUsers, r, { ttl: 0, waitUntilUsable: true }).catch((e) => e);
    expect(err).toBeInstanceOf(AwsCallError);
    expect(err.action).toBe("iam:AttachUserPolicy");
    expect(err.message).not.toContain("rollback failed");

    // CreateUser did run (the failure came after it), and the user is gone again.
    expect(await userExists(`u-${r.name}`)).toBe(false);
    const tagged = await listTaggedUsers(clientsFor(engine), engine);
    expect(tagged.filter((u) => u.role === r.name)).toEqual([]);
  });

  it("a failed issue late in the sequence (group that does not exist) rolls back policies too", async () => {
    const policy = await root.send(
      new CreatePolicyCommand({
        PolicyName: uniq("managed"),
        PolicyDocument: JSON.stringify({ Version: "2012-10-17", Statement: [{ Effect: "Allow", Action: "iam:GetUser", Resource: "*" }] }),
      }),
    );
    const arn = policy.Policy!.Arn!;
    const r = role({ policyArns: [arn], iamGroups: [uniq("missing-group")] });
    const err = await issueLease(clientsFor(namedUsers), namedUsers, r, { ttl: 0, waitUntilUsable: true }).catch((e) => e);
    expect(err).toBeInstanceOf(AwsCallError);
    expect(err.action).toBe("iam:AddUserToGroup");

    expect(await userExists(`u-${r.name}`)).toBe(false);
    const after = await root.send(new GetPolicyCommand({ PolicyArn: arn }));
    expect(after.Policy?.AttachmentCount ?? 0).toBe(0);
  });

  it("revoke removes attachments added out of band (login profile, policies, group, second key, SSH key, MFA)", async () => {
    const lease = await issueLease(clientsFor(engine), engine, role(), { ttl: 0, waitUntilUsable: false });
    const UserName = lease.username!;
    const managed = await root.send(
      new CreatePolicyCommand({
        PolicyName: uniq("oob"),
        PolicyDocument: JSON.stringify({ Version: "2012-10-17", Statement: [{ Effect: "Allow", Action: "s3:ListAllMyBuckets", Resource: "*" }] }),
      }),
    );
    const group = uniq("oob-group");
    await root.send(new CreateGroupCommand({ GroupName: group }));
    await root.send(new CreateLoginProfileCommand({ UserName, Password: "Very-Secret-Passw0rd!" }));
    await root.send(
      new PutUserPolicyCommand({
        UserName,
        PolicyName: "oob-inline",
        PolicyDocument: JSON.stringify({ Version: "2012-10-17", Statement: [{ Effect: "Allow", Action: "s3:GetObject", Resource: "*" }] }),
      }),
    );
    await root.send(new AttachUserPolicyCommand({ UserName, PolicyArn: managed.Policy!.Arn! }));
    await root.send(new AddUserToGroupCommand({ UserName, GroupName: group }));
    const second = await root.send(new CreateAccessKeyCommand({ UserName }));
    await root.send(new UploadSSHPublicKeyCommand({ UserName, SSHPublicKeyBody: SSH_PUBLIC_KEY }));
    const mfa = await root.send(new CreateVirtualMFADeviceCommand({ VirtualMFADeviceName: uniq("mfa") }));
    await root.send(
      new EnableMFADeviceCommand({ UserName, SerialNumber: mfa.VirtualMFADevice!.SerialNumber!, AuthenticationCode1: "123456", AuthenticationCode2: "654321" }),
    );

    // All of it is really there.
    expect((await root.send(new ListMFADevicesCommand({ UserName }))).MFADevices).toHaveLength(1);
    expect((await root.send(new ListSSHPublicKeysCommand({ UserName }))).SSHPublicKeys).toHaveLength(1);
    expect((await root.send(new ListAccessKeysCommand({ UserName }))).AccessKeyMetadata).toHaveLength(2);
    await expect(root.send(new GetLoginProfileCommand({ UserName }))).resolves.toHaveProperty("LoginProfile");

    await expect(revokeLease(clientsFor(engine), lease)).resolves.toMatchObject({ revoked: true });

    expect(await userExists(UserName)).toBe(false);
    const secondKey = clients(second.AccessKey!.AccessKeyId!, second.AccessKey!.SecretAccessKey!);
    expect(["InvalidClientTokenId", "InvalidAccessKeyId"]).toContain(await errorName(secondKey.sts.send(new GetCallerIdentityCommand({}))));
    const groupAfter = await root.send(new GetGroupCommand({ GroupName: group }));
    expect(groupAfter.Users ?? []).toEqual([]);
    const policyAfter = await root.send(new GetPolicyCommand({ PolicyArn: managed.Policy!.Arn! }));
    expect(policyAfter.Policy?.AttachmentCount ?? 0).toBe(0);
    // The MFA device was deactivated (unassigned), not left pointing at a deleted user.
    const assigned = await root.send(new ListVirtualMFADevicesCommand({ AssignmentStatus: "Assigned" }));
    expect((assigned.VirtualMFADevices ?? []).map((d) => d.SerialNumber)).not.toContain(mfa.VirtualMFADevice!.SerialNumber);
  });

  it("listTaggedUsers finds this mount's users with their lease id, role and expiry", async () => {
    const r = role();
    const lease = await issueLease(clientsFor(engine), engine, r, { ttl: 0, waitUntilUsable: false });
    const otherEngine = { ...engine, mount: uniq("othermount") };
    const other = await issueLease(clientsFor(otherEngine), otherEngine, role(), { ttl: 0, waitUntilUsable: false });
    try {
      const tagged = await listTaggedUsers(clientsFor(engine), engine);
      expect(tagged).toContainEqual({
        username: lease.username,
        leaseId: lease.leaseId,
        role: r.name,
        issuedAt: lease.issuedAt,
        expiresAt: lease.expiresAt,
      });
      expect(tagged.map((u) => u.username)).not.toContain(other.username);
    } finally {
      await revokeIamUser(clientsFor(engine), lease.username!);
      await revokeIamUser(clientsFor(otherEngine), other.username!);
    }
  });
});
