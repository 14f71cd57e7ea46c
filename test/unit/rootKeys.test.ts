// Root key rotation (Vault's config/rotate-root) with aws-sdk-client-mock: the order
// of calls, which key makes each call, and the failure paths moto cannot produce
// (a key that propagates slowly, a DeleteAccessKey refused for the new key).
import { inspect } from "node:util";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { mockClient } from "aws-sdk-client-mock";
import { CreateAccessKeyCommand, DeleteAccessKeyCommand, GetUserCommand, IAMClient, ListAccessKeysCommand } from "@aws-sdk/client-iam";
import { GetCallerIdentityCommand, STSClient } from "@aws-sdk/client-sts";
import { OldRootKeyNotDeletedError, rotateRootKey } from "../../provider/aws/rootKeys";
import { clientsFor } from "../support/clients";
import { mountSettings } from "../support/fixtures";

const iam = mockClient(IAMClient);
const sts = mockClient(STSClient);

const OLD_KEY = "AKIAOLDOLDOLD";
const NEW_KEY = "AKIANEWNEWNEW";
const NEW_SECRET = "new-secret-value";

const engine = mountSettings({ accessKey: OLD_KEY, secretKey: "old-secret-value" });

const rejected = (name: string) => Object.assign(new Error(`${name} from AWS`), { name });

/**
 * Options with a fake clock: sleeps are recorded and advance the clock instead of
 * waiting, for both the wait until the new key works and the delete retries.
 */
function fakeTime(waitTimeoutMs = 60_000) {
  let clock = 0;
  const sleeps: number[] = [];
  const sleep = async (ms: number) => {
    sleeps.push(ms);
    clock += ms;
  };
  return { sleeps, sleep, wait: { sleep, now: () => clock, timeoutMs: waitTimeoutMs } };
}

/** Which access key id the client that sent a command was configured with. */
async function keyOf(getClient: () => { config: { credentials: () => Promise<{ accessKeyId: string }> } }) {
  return (await getClient().config.credentials()).accessKeyId;
}

function mockHappyIam() {
  iam
    .on(GetUserCommand)
    .resolves({ User: { UserName: "engine", UserId: "AIDA", Arn: "arn:aws:iam::123456789012:user/engine", Path: "/", CreateDate: new Date() } });
  iam.on(ListAccessKeysCommand).resolves({ AccessKeyMetadata: [{ AccessKeyId: OLD_KEY, UserName: "engine" }] });
  iam.on(CreateAccessKeyCommand).resolves({
    AccessKey: { AccessKeyId: NEW_KEY, SecretAccessKey: NEW_SECRET, UserName: "engine", Status: "Active" },
  });
}

beforeEach(() => {
  iam.reset();
  sts.reset();
});
afterEach(() => {
  iam.reset();
  sts.reset();
});

describe("rotateRootKey", () => {
  it("creates a key, waits for consecutive successes with it, then deletes the old key using the new one", async () => {
    mockHappyIam();
    const probeKeys: string[] = [];
    sts.on(GetCallerIdentityCommand).callsFake(async (_input, getClient) => {
      probeKeys.push(await keyOf(getClient));
      return { Account: "123456789012", Arn: "arn:aws:iam::123456789012:user/engine", UserId: "AIDA" };
    });
    const deletes: { input: unknown; key: string }[] = [];
    iam.on(DeleteAccessKeyCommand).callsFake(async (input, getClient) => {
      deletes.push({ input, key: await keyOf(getClient) });
      return {};
    });
    const time = fakeTime();

    await expect(rotateRootKey(clientsFor(engine), engine, time)).resolves.toEqual({
      accessKey: NEW_KEY,
      secretKey: NEW_SECRET,
      oldAccessKey: OLD_KEY,
    });
    expect(iam.commandCalls(GetUserCommand)[0].args[0].input).toEqual({});
    expect(iam.commandCalls(ListAccessKeysCommand)[0].args[0].input).toEqual({ UserName: "engine" });
    expect(iam.commandCalls(CreateAccessKeyCommand)[0].args[0].input).toEqual({ UserName: "engine" });
    expect(probeKeys).toEqual([NEW_KEY, NEW_KEY, NEW_KEY]);
    expect(deletes).toEqual([{ input: { UserName: "engine", AccessKeyId: OLD_KEY }, key: NEW_KEY }]);
  });

  it("refuses a user that already has 2 keys before creating anything", async () => {
    iam.on(GetUserCommand).resolves({ User: { UserName: "engine", UserId: "AIDA", Arn: "arn:x", Path: "/", CreateDate: new Date() } });
    iam.on(ListAccessKeysCommand).resolves({
      AccessKeyMetadata: [{ AccessKeyId: OLD_KEY }, { AccessKeyId: "AKIAOTHER" }],
    });
    await expect(rotateRootKey(clientsFor(engine), engine, fakeTime())).rejects.toThrow(/IAM user "engine" already has 2 access keys; delete one first/);
    expect(iam.commandCalls(CreateAccessKeyCommand)).toHaveLength(0);
    expect(iam.commandCalls(DeleteAccessKeyCommand)).toHaveLength(0);
  });

  it("says the new key is in effect and which old key to delete by hand when DeleteAccessKey fails", async () => {
    mockHappyIam();
    sts.on(GetCallerIdentityCommand).resolves({ Account: "1", Arn: "arn:x", UserId: "u" });
    iam.on(DeleteAccessKeyCommand).rejects(rejected("AccessDenied"));

    const err = await rotateRootKey(clientsFor(engine), engine, fakeTime()).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(OldRootKeyNotDeletedError);
    const failure = err as OldRootKeyNotDeletedError;
    expect(failure.message).toContain(`the new access key ${NEW_KEY} of IAM user "engine" is in effect`);
    expect(failure.message).toContain(`delete access key ${OLD_KEY} by hand`);
    expect(failure.message).toContain("iam:DeleteAccessKey failed: AccessDenied");
    expect(failure.oldAccessKey).toBe(OLD_KEY);
    // The caller can still store the new key, but no rendering of the error shows the secret.
    expect(failure.newCredentials).toEqual({ accessKey: NEW_KEY, secretKey: NEW_SECRET, oldAccessKey: OLD_KEY });
    for (const rendered of [failure.message, failure.stack ?? "", JSON.stringify(failure), inspect(failure)]) {
      expect(rendered).not.toContain(NEW_SECRET);
      expect(rendered).not.toContain("old-secret-value");
    }
    // AccessDenied is a real refusal, not propagation: tried once.
    expect(iam.commandCalls(DeleteAccessKeyCommand)).toHaveLength(1);
  });

  it("keeps polling while the new key is rejected and restarts the success count", async () => {
    mockHappyIam();
    sts
      .on(GetCallerIdentityCommand)
      .rejectsOnce(rejected("InvalidClientTokenId"))
      .resolvesOnce({ Account: "1", Arn: "arn:x", UserId: "u" })
      .rejectsOnce(rejected("InvalidClientTokenId"))
      .resolves({ Account: "1", Arn: "arn:x", UserId: "u" });
    iam.on(DeleteAccessKeyCommand).resolves({});
    const time = fakeTime();

    await rotateRootKey(clientsFor(engine), engine, time);
    // 2 rejections, 1 success that did not count, then 3 in a row.
    expect(sts.commandCalls(GetCallerIdentityCommand)).toHaveLength(6);
    expect(time.sleeps.length).toBeGreaterThanOrEqual(2);
    expect(iam.commandCalls(DeleteAccessKeyCommand)[0].args[0].input).toEqual({ UserName: "engine", AccessKeyId: OLD_KEY });
  });

  it("deletes the unused new key with the old credentials when it never works, keeping the old key", async () => {
    mockHappyIam();
    sts.on(GetCallerIdentityCommand).rejects(rejected("InvalidClientTokenId"));
    const deletes: { input: unknown; key: string }[] = [];
    iam.on(DeleteAccessKeyCommand).callsFake(async (input, getClient) => {
      deletes.push({ input, key: await keyOf(getClient) });
      return {};
    });
    const time = fakeTime(10_000);

    await expect(rotateRootKey(clientsFor(engine), engine, time)).rejects.toThrow(
      `the new access key ${NEW_KEY} did not work (new access key was not usable after 10s ` +
        "(sts:GetCallerIdentity kept failing: InvalidClientTokenId)); it was deleted and the old key stays in use",
    );
    expect(deletes).toEqual([{ input: { UserName: "engine", AccessKeyId: NEW_KEY }, key: OLD_KEY }]);
    expect(time.sleeps.reduce((a, b) => a + b, 0)).toBeLessThanOrEqual(10_000);
    expect(iam.commandCalls(DeleteAccessKeyCommand).map((c) => c.args[0].input.AccessKeyId)).not.toContain(OLD_KEY);
  });

  it("retries deleting the old key while IAM still rejects the new key", async () => {
    mockHappyIam();
    sts.on(GetCallerIdentityCommand).resolves({ Account: "1", Arn: "arn:x", UserId: "u" });
    iam.on(DeleteAccessKeyCommand).rejectsOnce(rejected("InvalidClientTokenId")).resolves({});
    await expect(rotateRootKey(clientsFor(engine), engine, fakeTime())).resolves.toMatchObject({ accessKey: NEW_KEY });
    expect(iam.commandCalls(DeleteAccessKeyCommand)).toHaveLength(2);
  });

  it("needs static root credentials", async () => {
    await expect(
      rotateRootKey(clientsFor({ ...engine, accessKey: undefined, secretKey: undefined }), { ...engine, accessKey: undefined, secretKey: undefined }),
    ).rejects.toThrow("rotate-root needs static root credentials (accessKey/secretKey)");
    expect(iam.calls()).toHaveLength(0);
  });

  it("refuses credentials that are not an IAM user's (GetUser without a user name)", async () => {
    iam
      .on(GetUserCommand)
      .resolves({ User: { UserName: undefined, UserId: "123", Arn: "arn:aws:iam::123456789012:root", Path: "/", CreateDate: new Date() } } as never);
    await expect(rotateRootKey(clientsFor(engine), engine, fakeTime())).rejects.toThrow(/^iam:GetUser failed: NotAnIamUser/);
    expect(iam.commandCalls(CreateAccessKeyCommand)).toHaveLength(0);
  });

  it("names the IAM action that failed", async () => {
    iam.on(GetUserCommand).resolves({ User: { UserName: "engine", UserId: "AIDA", Arn: "arn:x", Path: "/", CreateDate: new Date() } });
    iam.on(ListAccessKeysCommand).resolves({ AccessKeyMetadata: [{ AccessKeyId: OLD_KEY }] });
    iam.on(CreateAccessKeyCommand).rejects(rejected("LimitExceeded"));
    await expect(rotateRootKey(clientsFor(engine), engine, fakeTime())).rejects.toThrow(/^iam:CreateAccessKey failed: LimitExceeded/);
    expect(sts.calls()).toHaveLength(0);
  });
});
