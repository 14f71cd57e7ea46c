// Rotation of the engine's root access key (Vault's config/rotate-root): create a
// second key for the same IAM user, wait until it works, then delete the old key
// with the new one. The old key is deleted only once the new key is proven usable,
// so a failure part-way never leaves the engine without a working key.
import { CreateAccessKeyCommand, DeleteAccessKeyCommand, GetUserCommand, ListAccessKeysCommand, type IAMClient } from "@aws-sdk/client-iam";
import type { MountSettings } from "../types";
import { iamClient, rootCredentials, type AwsClients, type StaticCredentials } from "./clients";
import { AwsCallError, call, isInvalidCredentials, isNoSuchEntity } from "./errors";
import { waitUntilUsable, type WaitUntilUsableOptions } from "./waitUsable";

export interface RotatedRootKey {
  accessKey: string;
  secretKey: string;
  oldAccessKey: string;
}

export interface RotateRootOptions {
  /** Tuning of the wait until the new key works (default: 3 successes in a row, 60 s cap). */
  wait?: WaitUntilUsableOptions;
  /** Attempts at deleting the old key while IAM still rejects the new key (default 10, 2 s apart, as aws-vault). */
  deleteAttempts?: number;
  /** Pause between those attempts; injected by tests. */
  sleep?: (ms: number) => Promise<void>;
}

/** AWS allows at most this many access keys per IAM user. */
const MAX_KEYS_PER_USER = 2;
const DELETE_RETRY_DELAY_MS = 2_000;

/**
 * The new key is in effect but the old one could not be deleted. The caller must
 * store the new key (in `newCredentials`, which is non-enumerable so that logging
 * this error never prints the secret) and the old key must be deleted by hand.
 */
export class OldRootKeyNotDeletedError extends Error {
  readonly userName: string;
  readonly newAccessKey: string;
  readonly oldAccessKey: string;
  declare readonly newCredentials: RotatedRootKey;

  constructor(userName: string, rotated: RotatedRootKey, cause: AwsCallError) {
    super(
      `rotate-root: the new access key ${rotated.accessKey} of IAM user "${userName}" is in effect, ` +
        `but deleting the old key failed (${cause.message}); delete access key ${rotated.oldAccessKey} by hand ` +
        `(aws iam delete-access-key --user-name ${userName} --access-key-id ${rotated.oldAccessKey})`,
    );
    this.name = "OldRootKeyNotDeletedError";
    this.userName = userName;
    this.newAccessKey = rotated.accessKey;
    this.oldAccessKey = rotated.oldAccessKey;
    Object.defineProperty(this, "newCredentials", { value: rotated, enumerable: false });
  }
}

const defaultSleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/**
 * Replaces the engine's static root access key by a new key of the same IAM user and
 * deletes the old one. Refuses, before creating anything, when the user already has
 * two keys. The caller must store the returned key: the old one no longer works.
 */
export async function rotateRootKey(clients: Pick<AwsClients, "iam">, engine: MountSettings, options: RotateRootOptions = {}): Promise<RotatedRootKey> {
  const oldCredentials = rootCredentials(engine);
  if (!oldCredentials) throw new Error("rotate-root needs static root credentials (accessKey/secretKey)");
  const sleep = options.sleep ?? defaultSleep;

  const { iam } = clients;
  const self = await call("iam:GetUser", () => iam.send(new GetUserCommand({})));
  if (!self.User?.UserName) {
    throw new AwsCallError("iam:GetUser", "NotAnIamUser", "the root credentials do not belong to an IAM user (account root keys cannot be rotated here)");
  }
  const name = self.User.UserName;
  const keys = await call("iam:ListAccessKeys", () => iam.send(new ListAccessKeysCommand({ UserName: name })));
  const count = keys.AccessKeyMetadata?.length ?? 0;
  if (count >= MAX_KEYS_PER_USER) {
    throw new Error(
      `rotate-root: IAM user "${name}" already has ${count} access keys; delete one first ` +
        `(AWS allows ${MAX_KEYS_PER_USER} and the new key needs a free slot)`,
    );
  }
  const key = await call("iam:CreateAccessKey", () => iam.send(new CreateAccessKeyCommand({ UserName: name })));
  if (!key.AccessKey?.AccessKeyId || !key.AccessKey.SecretAccessKey) {
    throw new AwsCallError("iam:CreateAccessKey", "IncompleteResponse", "the response has no AccessKey");
  }
  const created = { accessKey: key.AccessKey.AccessKeyId, secretKey: key.AccessKey.SecretAccessKey };

  const newCredentials: StaticCredentials = { accessKeyId: created.accessKey, secretAccessKey: created.secretKey };
  const rotated: RotatedRootKey = { ...created, oldAccessKey: oldCredentials.accessKeyId };

  // New IAM keys take seconds to propagate; deleting the old key before the new one
  // works would lock the engine out.
  let waitFailure: string | undefined;
  try {
    await waitUntilUsable(engine, newCredentials, options.wait);
  } catch (err) {
    waitFailure = (err as Error).message;
  }
  if (waitFailure) {
    const outcome = await rollBackNewKey(iam, name, created.accessKey);
    throw new Error(`rotate-root: the new access key ${created.accessKey} did not work (${waitFailure}); ${outcome}`);
  }

  // The deletion proves the new key works for IAM too. IAM may still reject it for a
  // moment after STS accepted it, so only that rejection is retried.
  const iamWithNewKey = iamClient(engine, newCredentials);
  const attempts = options.deleteAttempts ?? 10;
  try {
    for (let attempt = 1; ; attempt++) {
      try {
        await call("iam:DeleteAccessKey", () => iamWithNewKey.send(new DeleteAccessKeyCommand({ UserName: name, AccessKeyId: rotated.oldAccessKey })));
        break;
      } catch (err) {
        if (isNoSuchEntity(err)) break; // already gone: the goal is met
        if (!(err instanceof AwsCallError)) throw err;
        if (!isInvalidCredentials(err) || attempt >= attempts) throw new OldRootKeyNotDeletedError(name, rotated, err);
        await sleep(DELETE_RETRY_DELAY_MS);
      }
    }
  } finally {
    iamWithNewKey.destroy();
  }
  return rotated;
}

/**
 * Deletes the unused new key with the old credentials after a failed wait, so the
 * user is back to one key. Returns what happened, for the error message.
 */
async function rollBackNewKey(iam: IAMClient, userName: string, newAccessKey: string): Promise<string> {
  try {
    await call("iam:DeleteAccessKey", () => iam.send(new DeleteAccessKeyCommand({ UserName: userName, AccessKeyId: newAccessKey })));
    return "it was deleted and the old key stays in use";
  } catch (err) {
    return (
      `the old key stays in use, but deleting the unused new key failed (${(err as Error).message}): ` +
      `delete access key ${newAccessKey} of IAM user "${userName}" by hand`
    );
  }
}
