// The iam_user credential type (Vault's secret_access_keys.go), with what Vault lacks:
// a failed issue is rolled back at once, revoke removes everything IAM requires before
// DeleteUser (so out-of-band attachments cannot leak the user, vault #16685), every
// List call is paginated, and an inline deny policy ends the key at its expiry even if
// nothing ever revokes it.
import {
  AddUserToGroupCommand,
  AttachUserPolicyCommand,
  CreateAccessKeyCommand,
  CreateUserCommand,
  DeactivateMFADeviceCommand,
  DeleteAccessKeyCommand,
  DeleteLoginProfileCommand,
  DeleteServiceSpecificCredentialCommand,
  DeleteSigningCertificateCommand,
  DeleteSSHPublicKeyCommand,
  DeleteUserCommand,
  DeleteUserPolicyCommand,
  DetachUserPolicyCommand,
  GetUserCommand,
  ListAccessKeysCommand,
  ListAttachedUserPoliciesCommand,
  ListGroupsForUserCommand,
  ListMFADevicesCommand,
  ListServiceSpecificCredentialsCommand,
  ListSigningCertificatesCommand,
  ListSSHPublicKeysCommand,
  ListUserPoliciesCommand,
  ListUsersCommand,
  ListUserTagsCommand,
  PutUserPolicyCommand,
  RemoveUserFromGroupCommand,
  TagUserCommand,
  type IAMClient,
  type Tag,
} from "@aws-sdk/client-iam";
import type { MountSettings, IssuedLease, LeaseRequest, RoleSettings } from "../types";
import { isoSeconds, wholeSeconds } from "../duration";
import { EXPIRY_POLICY_NAME, expiryDenyPolicy } from "../expiryPolicy";
import type { AwsClients } from "./clients";
import { AwsCallError, call, isEntityAlreadyExists, isNoSuchEntity } from "./errors";
import { waitUntilUsable, type WaitUntilUsableOptions } from "./waitUsable";
import { mapWithConcurrency } from "../concurrency";

/** Tag keys on every IAM user we create; the orphan sweep finds users by TAG_MOUNT and TAG_TABLE. */
export const TAG_MOUNT = "awslease:mount";
/** The issuing lease table's id (MountSettings.tableId). */
export const TAG_TABLE = "awslease:table";
export const TAG_ROLE = "awslease:role";
export const TAG_LEASE_ID = "awslease:lease-id";
export const TAG_EXPIRES_AT = "awslease:expires-at";
export const TAG_ISSUED_AT = "awslease:issued-at";

export { EXPIRY_POLICY_NAME, expiryDenyPolicy };

export interface IamUserIssueOptions {
  leaseId: string;
  username: string;
  ttlSeconds: number;
  now: Date;
  /** Tuning of the wait until the new key works (tests use a fake clock). */
  wait?: WaitUntilUsableOptions;
}

/** Writes (or moves) the user's expiry deny policy. */
async function putExpiryPolicy(iam: IAMClient, username: string, expiresAt: Date): Promise<void> {
  await call("iam:PutUserPolicy", () =>
    iam.send(new PutUserPolicyCommand({ UserName: username, PolicyName: EXPIRY_POLICY_NAME, PolicyDocument: expiryDenyPolicy(expiresAt) })),
  );
}

function userTags(engine: MountSettings, role: RoleSettings, leaseId: string, issuedAt: Date, expiresAt: Date): Tag[] {
  // Ours last and winning: the sweep and renew rely on them.
  const tags: Record<string, string> = {
    ...role.iamTags,
    [TAG_MOUNT]: engine.mount,
    ...(engine.tableId ? { [TAG_TABLE]: engine.tableId } : {}),
    [TAG_ROLE]: role.name,
    [TAG_LEASE_ID]: leaseId,
    [TAG_ISSUED_AT]: isoSeconds(issuedAt),
    [TAG_EXPIRES_AT]: isoSeconds(expiresAt),
  };
  return Object.entries(tags).map(([Key, Value]) => ({ Key, Value }));
}

/** The original error with the rollback failure appended; the original stays first and keeps its action. */
function withRollbackFailure(original: unknown, rollbackError: unknown, username: string): Error {
  const note =
    `rollback failed: ${(rollbackError as Error)?.message ?? String(rollbackError)} ` +
    `(IAM user ${username} may be left behind; the orphan sweep removes it)`;
  if (original instanceof AwsCallError) {
    const prefix = `${original.action} failed: ${original.code}: `;
    const detail = original.message.startsWith(prefix) ? original.message.slice(prefix.length) : original.message;
    const combined = new AwsCallError(original.action, original.code, `${detail}; ${note}`);
    (combined as Error & { cause?: unknown }).cause = original;
    return combined;
  }
  const message = (original as Error)?.message ?? String(original);
  return new Error(`${message}; ${note}`, { cause: original });
}

/**
 * Creates the IAM user of an iam_user lease and its access key. If any step after
 * CreateUser fails (or the key never becomes usable), the user and everything added
 * to it are removed with revokeIamUser and the original error is thrown: a failed
 * issue leaves nothing in AWS.
 */
export async function issueIamUser(
  clients: AwsClients,
  engine: MountSettings,
  role: RoleSettings,
  request: LeaseRequest,
  opts: IamUserIssueOptions,
): Promise<IssuedLease> {
  const { username, leaseId } = opts;
  const issuedAt = wholeSeconds(opts.now);
  const expiresAt = new Date(issuedAt.getTime() + opts.ttlSeconds * 1000);
  const { iam } = clients;
  const created = await createUserOnce(iam, username, leaseId, () =>
    iam.send(
      new CreateUserCommand({
        UserName: username,
        Path: role.userPath || "/",
        ...(role.permissionsBoundaryArn ? { PermissionsBoundary: role.permissionsBoundaryArn } : {}),
        Tags: userTags(engine, role, leaseId, issuedAt, expiresAt),
      }),
    ),
  );
  try {
    for (const policyArn of role.policyArns) {
      await call("iam:AttachUserPolicy", () => iam.send(new AttachUserPolicyCommand({ UserName: username, PolicyArn: policyArn })));
    }
    if (role.policyDocument) {
      const document = role.policyDocument;
      await call("iam:PutUserPolicy", () => iam.send(new PutUserPolicyCommand({ UserName: username, PolicyName: role.name, PolicyDocument: document })));
    }
    await putExpiryPolicy(iam, username, expiresAt);
    for (const group of role.iamGroups) {
      await call("iam:AddUserToGroup", () => iam.send(new AddUserToGroupCommand({ UserName: username, GroupName: group })));
    }
    const key = await call("iam:CreateAccessKey", () => iam.send(new CreateAccessKeyCommand({ UserName: username })));
    const accessKey = key.AccessKey?.AccessKeyId;
    const secretKey = key.AccessKey?.SecretAccessKey;
    if (!accessKey || !secretKey) {
      throw new AwsCallError("iam:CreateAccessKey", "IncompleteResponse", "the response has no AccessKey");
    }
    if (request.waitUntilUsable) {
      await waitUntilUsable(engine, { accessKeyId: accessKey, secretAccessKey: secretKey }, opts.wait);
    }
    return {
      leaseId,
      credentialType: "iam_user",
      accessKey,
      secretKey,
      ...(created.User?.Arn ? { arn: created.User.Arn } : {}),
      username,
      issuedAt: isoSeconds(issuedAt),
      expiresAt: isoSeconds(expiresAt),
      leaseDuration: opts.ttlSeconds,
      renewable: true,
      warnings: [],
    };
  } catch (err) {
    try {
      await revokeIamUser({ iam }, username);
    } catch (rollbackError) {
      throw withRollbackFailure(err, rollbackError, username);
    }
    throw err;
  }
}

/** Is the user there and tagged as this lease's? (A user of that name that is not ours is never touched.) */
async function isOurUser(iam: IAMClient, username: string, leaseId: string): Promise<boolean> {
  try {
    const tags = await listUserTags(iam, username);
    return tags.some((t) => t.Key === TAG_LEASE_ID && t.Value === leaseId);
  } catch (err) {
    if (isNoSuchEntity(err)) return false;
    throw err;
  }
}

/**
 * CreateUser, made safe to retry. When a response is lost (a dropped connection, a
 * timeout) the SDK retries, and the retry meets the user the first attempt created:
 * EntityAlreadyExists. A user carrying this lease's tag is ours and the issue goes on
 * with it. After any other failure a user may still have been created without us
 * hearing of it: one tagged as ours is removed before the error is reported (what
 * Vault's write-ahead log does).
 */
async function createUserOnce(
  iam: IAMClient,
  username: string,
  leaseId: string,
  create: () => Promise<{ User?: { Arn?: string } }>,
): Promise<{ User?: { Arn?: string } }> {
  try {
    return await call("iam:CreateUser", create);
  } catch (err) {
    const exists = isEntityAlreadyExists(err);
    if (exists && (await isOurUser(iam, username, leaseId))) {
      const user = await call("iam:GetUser", () => iam.send(new GetUserCommand({ UserName: username })));
      return { User: { Arn: user.User?.Arn } };
    }
    if (!exists) {
      try {
        if (await isOurUser(iam, username, leaseId)) await revokeIamUser({ iam }, username);
      } catch (rollbackError) {
        throw withRollbackFailure(err, rollbackError, username);
      }
    }
    throw err;
  }
}

export interface Page<T> {
  items: T[] | undefined;
  isTruncated?: boolean;
  marker?: string;
}

/** Every item of a Marker/IsTruncated-paginated IAM List call. */
export async function listAll<T>(action: string, fetchPage: (marker?: string) => Promise<Page<T>>): Promise<T[]> {
  const all: T[] = [];
  let marker: string | undefined;
  for (;;) {
    const page = await call(action, () => fetchPage(marker));
    all.push(...(page.items ?? []));
    // A truncated page without a marker cannot be continued; stop rather than loop.
    if (!page.isTruncated || !page.marker) return all;
    marker = page.marker;
  }
}

/** Runs a delete; NoSuchEntity means someone (e.g. a concurrent revoke) already removed it. */
export async function deleteIfPresent(action: string, fn: () => Promise<unknown>): Promise<void> {
  try {
    await call(action, fn);
  } catch (err) {
    if (!isNoSuchEntity(err)) throw err;
  }
}

/**
 * An operation the endpoint does not implement. AWS has them all; emulators do not:
 * moto answers ListServiceSpecificCredentials with a bare HTML 500 page the SDK
 * cannot parse, others with NotImplemented / InvalidAction or HTTP 501.
 */
function isUnimplementedOperation(err: unknown): boolean {
  const e = err as { name?: string; Code?: string; message?: string; $metadata?: { httpStatusCode?: number } };
  const code = e?.Code || e?.name || "";
  if (["NotImplemented", "InvalidAction", "UnknownOperation", "UnknownOperationException"].includes(code)) return true;
  const status = e?.$metadata?.httpStatusCode;
  if (status === 501) return true;
  return status === 500 && /Deserialization error/i.test(e?.message ?? "");
}

function listUserTags(iam: IAMClient, username: string): Promise<Tag[]> {
  return listAll("iam:ListUserTags", async (Marker) => {
    const r = await iam.send(new ListUserTagsCommand({ UserName: username, Marker }));
    return { items: r.Tags, isTruncated: r.IsTruncated, marker: r.Marker };
  });
}

async function listAccessKeyIds(iam: IAMClient, username: string): Promise<string[]> {
  const keys = await listAll("iam:ListAccessKeys", async (Marker) => {
    const r = await iam.send(new ListAccessKeysCommand({ UserName: username, Marker }));
    return { items: r.AccessKeyMetadata, isTruncated: r.IsTruncated, marker: r.Marker };
  });
  return keys.map((k) => k.AccessKeyId).filter((id): id is string => !!id);
}

/**
 * THE teardown of an IAM user, used by revoke, by issue rollback and by the orphan
 * sweep. Removes everything IAM requires gone before DeleteUser - access keys, login
 * profile, MFA devices (deactivated), signing certificates, SSH public keys,
 * service-specific credentials, managed and inline policies, group memberships - and
 * then deletes the user. A user that is already gone is success with existed: false.
 */
export async function revokeIamUser(clients: Pick<AwsClients, "iam">, username: string): Promise<{ existed: boolean }> {
  const { iam } = clients;
  const UserName = username;
  // Access keys first: the credential stops working before anything else happens.
  let keyIds: string[];
  try {
    keyIds = await listAccessKeyIds(iam, username);
  } catch (err) {
    if (isNoSuchEntity(err)) return { existed: false };
    throw err;
  }
  for (const AccessKeyId of keyIds) {
    await deleteIfPresent("iam:DeleteAccessKey", () => iam.send(new DeleteAccessKeyCommand({ UserName, AccessKeyId })));
  }

  // No List call for the console password: deleting a missing one answers NoSuchEntity.
  await deleteIfPresent("iam:DeleteLoginProfile", () => iam.send(new DeleteLoginProfileCommand({ UserName })));

  // Everything else attached: list every page, then remove each item.
  const removeAll = async <T>(
    list: string,
    page: (Marker?: string) => Promise<Page<T>>,
    idOf: (item: T) => string | undefined,
    remove: string,
    removeById: (id: string) => Promise<unknown>,
  ) => {
    for (const item of await listAll(list, page)) {
      const id = idOf(item);
      if (id) await deleteIfPresent(remove, () => removeById(id));
    }
  };
  const pageOf = <T>(r: { IsTruncated?: boolean; Marker?: string }, items: T[] | undefined): Page<T> => ({
    items,
    isTruncated: r.IsTruncated,
    marker: r.Marker,
  });

  await removeAll(
    "iam:ListMFADevices",
    async (Marker) => {
      const r = await iam.send(new ListMFADevicesCommand({ UserName, Marker }));
      return pageOf(r, r.MFADevices);
    },
    (d) => d.SerialNumber,
    "iam:DeactivateMFADevice",
    (SerialNumber) => iam.send(new DeactivateMFADeviceCommand({ UserName, SerialNumber })),
  );
  await removeAll(
    "iam:ListSigningCertificates",
    async (Marker) => {
      const r = await iam.send(new ListSigningCertificatesCommand({ UserName, Marker }));
      return pageOf(r, r.Certificates);
    },
    (c) => c.CertificateId,
    "iam:DeleteSigningCertificate",
    (CertificateId) => iam.send(new DeleteSigningCertificateCommand({ UserName, CertificateId })),
  );
  await removeAll(
    "iam:ListSSHPublicKeys",
    async (Marker) => {
      const r = await iam.send(new ListSSHPublicKeysCommand({ UserName, Marker }));
      return pageOf(r, r.SSHPublicKeys);
    },
    (k) => k.SSHPublicKeyId,
    "iam:DeleteSSHPublicKey",
    (SSHPublicKeyId) => iam.send(new DeleteSSHPublicKeyCommand({ UserName, SSHPublicKeyId })),
  );
  // Skipping an unimplemented list is safe: real IAM's DeleteUser refuses with
  // DeleteConflict while any service-specific credential is left.
  await removeAll(
    "iam:ListServiceSpecificCredentials",
    async (Marker) => {
      try {
        const r = await iam.send(new ListServiceSpecificCredentialsCommand({ UserName, Marker }));
        return pageOf(r, r.ServiceSpecificCredentials);
      } catch (err) {
        if (isUnimplementedOperation(err)) return { items: [] };
        throw err;
      }
    },
    (c) => c.ServiceSpecificCredentialId,
    "iam:DeleteServiceSpecificCredential",
    (ServiceSpecificCredentialId) => iam.send(new DeleteServiceSpecificCredentialCommand({ UserName, ServiceSpecificCredentialId })),
  );
  await removeAll(
    "iam:ListAttachedUserPolicies",
    async (Marker) => {
      const r = await iam.send(new ListAttachedUserPoliciesCommand({ UserName, Marker }));
      return pageOf(r, r.AttachedPolicies);
    },
    (p) => p.PolicyArn,
    "iam:DetachUserPolicy",
    (PolicyArn) => iam.send(new DetachUserPolicyCommand({ UserName, PolicyArn })),
  );
  await removeAll(
    "iam:ListUserPolicies",
    async (Marker) => {
      const r = await iam.send(new ListUserPoliciesCommand({ UserName, Marker }));
      return pageOf(r, r.PolicyNames);
    },
    (name) => name,
    "iam:DeleteUserPolicy",
    (PolicyName) => iam.send(new DeleteUserPolicyCommand({ UserName, PolicyName })),
  );
  await removeAll(
    "iam:ListGroupsForUser",
    async (Marker) => {
      const r = await iam.send(new ListGroupsForUserCommand({ UserName, Marker }));
      return pageOf(r, r.Groups);
    },
    (g) => g.GroupName,
    "iam:RemoveUserFromGroup",
    (GroupName) => iam.send(new RemoveUserFromGroupCommand({ UserName, GroupName })),
  );

  // NoSuchEntity here: a concurrent revoke finished first; the user is gone either way.
  await deleteIfPresent("iam:DeleteUser", () => iam.send(new DeleteUserCommand({ UserName })));
  return { existed: true };
}

/**
 * Moves an iam_user lease's expiry: both the expires-at tag and the expiry deny policy
 * move, or neither does. The tag goes first (it only informs the sweep); if the policy
 * then cannot be written, the tag is put back to `previousExpiresAt`.
 */
export async function renewIamUser(clients: Pick<AwsClients, "iam">, username: string, expiresAt: Date, previousExpiresAt: string): Promise<void> {
  const { iam } = clients;
  const tagExpiry = (value: string) =>
    call("iam:TagUser", () => iam.send(new TagUserCommand({ UserName: username, Tags: [{ Key: TAG_EXPIRES_AT, Value: value }] })));
  await tagExpiry(isoSeconds(expiresAt));
  try {
    await putExpiryPolicy(iam, username, expiresAt);
  } catch (err) {
    try {
      await tagExpiry(previousExpiresAt);
    } catch (undoError) {
      throw new Error(
        `${(err as Error).message}; putting the ${TAG_EXPIRES_AT} tag back to ${previousExpiresAt} failed too: ${(undoError as Error).message}`,
        // The message has the first failure; the cause is the undo's.
        { cause: undoError },
      );
    }
    throw err;
  }
}

/** "gone" when the user, or the lease's access key on it, no longer exists. */
export async function checkIamUser(clients: Pick<AwsClients, "iam">, username: string, accessKeyId: string): Promise<"ok" | "gone"> {
  const { iam } = clients;
  try {
    const keyIds = await listAccessKeyIds(iam, username);
    return keyIds.includes(accessKeyId) ? "ok" : "gone";
  } catch (err) {
    if (isNoSuchEntity(err)) return "gone";
    throw err;
  }
}

export interface TaggedUser {
  username: string;
  leaseId?: string;
  role?: string;
  issuedAt?: string;
  expiresAt?: string;
}

/** ListUserTags calls in flight at once while sweeping. */
const TAG_LOOKUP_CONCURRENCY = 5;

/**
 * The IAM users this engine's lease table issued (for the orphan sweep): tagged with
 * its mount and its table id. Users of another table on the same account are never
 * returned, even under the same mount name.
 */
export async function listTaggedUsers(clients: Pick<AwsClients, "iam">, engine: Pick<MountSettings, "mount" | "tableId">): Promise<TaggedUser[]> {
  const { iam } = clients;
  // ListUsers does not return tags, so each user's tags are read separately.
  const users = await listAll("iam:ListUsers", async (Marker) => {
    const r = await iam.send(new ListUsersCommand({ Marker }));
    return { items: r.Users, isTruncated: r.IsTruncated, marker: r.Marker };
  });
  const names = users.map((u) => u.UserName).filter((n): n is string => !!n);
  const found = await mapWithConcurrency(names, TAG_LOOKUP_CONCURRENCY, async (username): Promise<TaggedUser | undefined> => {
    let tags: Tag[];
    try {
      tags = await listUserTags(iam, username);
    } catch (err) {
      if (isNoSuchEntity(err)) return undefined; // deleted since ListUsers
      throw err;
    }
    const byKey = new Map(tags.map((t) => [t.Key, t.Value]));
    if (byKey.get(TAG_MOUNT) !== engine.mount || byKey.get(TAG_TABLE) !== engine.tableId) return undefined;
    return {
      username,
      ...(byKey.get(TAG_LEASE_ID) ? { leaseId: byKey.get(TAG_LEASE_ID) } : {}),
      ...(byKey.get(TAG_ROLE) ? { role: byKey.get(TAG_ROLE) } : {}),
      ...(byKey.get(TAG_ISSUED_AT) ? { issuedAt: byKey.get(TAG_ISSUED_AT) } : {}),
      ...(byKey.get(TAG_EXPIRES_AT) ? { expiresAt: byKey.get(TAG_EXPIRES_AT) } : {}),
    };
  });
  return found.filter((u): u is TaggedUser => u !== undefined);
}
