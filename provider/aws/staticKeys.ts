// Static roles' AWS side: the access keys of an existing IAM user that awslease owns
// (Vault's path_static_roles.go / rotation.go). Vault's order is GetUser (its immutable
// UserId), ListAccessKeys, make room, CreateAccessKey. awslease also proves the new key
// works before the key it replaces is given up, and never deletes a key it hands out
// in the same step that replaces it (see provider/staticRole.ts): IAM allows two keys
// per user, the current one and the one it replaced.
import { CreateAccessKeyCommand, DeleteAccessKeyCommand, GetUserCommand, ListAccessKeysCommand, type AccessKeyMetadata } from "@aws-sdk/client-iam";
import type { MountSettings } from "../types";
import type { AwsClients } from "./clients";
import { AwsCallError, call, isNoSuchEntity } from "./errors";
import { deleteIfPresent, listAll } from "./iamUser";
import { waitUntilUsable, type WaitUntilUsableOptions } from "./waitUsable";

/** The user's immutable id; undefined when there is no such user. */
export async function userIdOf(clients: Pick<AwsClients, "iam">, username: string): Promise<string | undefined> {
  try {
    const r = await call("iam:GetUser", () => clients.iam.send(new GetUserCommand({ UserName: username })));
    return r.User?.UserId;
  } catch (err) {
    if (isNoSuchEntity(err)) return undefined;
    throw err;
  }
}

/** The user's access keys, oldest first. */
export async function accessKeysOf(clients: Pick<AwsClients, "iam">, username: string): Promise<AccessKeyMetadata[]> {
  const keys = await listAll("iam:ListAccessKeys", async (Marker) => {
    const r = await clients.iam.send(new ListAccessKeysCommand({ UserName: username, Marker }));
    return { items: r.AccessKeyMetadata, isTruncated: r.IsTruncated, marker: r.Marker };
  });
  return keys.sort((a, b) => (a.CreateDate?.getTime() ?? 0) - (b.CreateDate?.getTime() ?? 0));
}

/** IAM's limit of access keys per user. */
const KEYS_PER_USER = 2;

/**
 * A new access key for the user, working when this returns. Room is made first by
 * deleting the oldest keys that are not in `keep` (the key being replaced); if the
 * user's keys are all to be kept, nothing is deleted and the call fails, naming them.
 */
export async function createStaticKey(
  clients: Pick<AwsClients, "iam">,
  engine: MountSettings,
  username: string,
  opts: { keep: string[]; wait?: WaitUntilUsableOptions },
): Promise<{ accessKey: string; secretKey: string; deleted: string[] }> {
  const keys = await accessKeysOf(clients, username);
  const deletable = keys.filter((k) => k.AccessKeyId && !opts.keep.includes(k.AccessKeyId));
  const deleted: string[] = [];
  while (keys.length - deleted.length >= KEYS_PER_USER) {
    const oldest = deletable.shift();
    if (!oldest?.AccessKeyId) {
      throw new AwsCallError(
        "iam:CreateAccessKey",
        "LimitExceeded",
        `user ${username} already has ${keys.length} access keys awslease must keep (${opts.keep.join(", ")})`,
      );
    }
    await deleteStaticKey(clients, username, oldest.AccessKeyId);
    deleted.push(oldest.AccessKeyId);
  }
  const created = await call("iam:CreateAccessKey", () => clients.iam.send(new CreateAccessKeyCommand({ UserName: username })));
  const accessKey = created.AccessKey?.AccessKeyId;
  const secretKey = created.AccessKey?.SecretAccessKey;
  if (!accessKey || !secretKey) throw new AwsCallError("iam:CreateAccessKey", "IncompleteResponse", "the response has no AccessKey");
  try {
    await waitUntilUsable(engine, { accessKeyId: accessKey, secretAccessKey: secretKey }, opts.wait);
  } catch (err) {
    // A key that never worked is not handed out, and does not take the user's second slot.
    await deleteStaticKey(clients, username, accessKey).catch(() => undefined);
    throw err;
  }
  return { accessKey, secretKey, deleted };
}

/** Deletes one access key; one already gone is success. */
export async function deleteStaticKey(clients: Pick<AwsClients, "iam">, username: string, accessKey: string): Promise<void> {
  await deleteIfPresent("iam:DeleteAccessKey", () => clients.iam.send(new DeleteAccessKeyCommand({ UserName: username, AccessKeyId: accessKey })));
}
