// rotate-root against moto: each test rotates the key of its own IAM user, used as
// the engine's root credentials, never the shared bootstrap root.
import { describe, expect, it } from "vitest";
import { CreateAccessKeyCommand, CreateUserCommand, ListAccessKeysCommand, PutUserPolicyCommand } from "@aws-sdk/client-iam";
import { GetCallerIdentityCommand } from "@aws-sdk/client-sts";
import { rotateRootKey } from "../../provider/aws/rootKeys";
import { clients, motoMountSettings, moto, uniq } from "../support/aws";
import { clientsFor } from "../support/clients";

/** An IAM user allowed to manage IAM (as an engine's root user is), with one access key. */
async function createEngineUser(): Promise<{ name: string; accessKey: string; secretKey: string }> {
  const { iam } = clients();
  const name = uniq("engine");
  await iam.send(new CreateUserCommand({ UserName: name }));
  await iam.send(
    new PutUserPolicyCommand({
      UserName: name,
      PolicyName: "manage-iam",
      PolicyDocument: JSON.stringify({
        Version: "2012-10-17",
        Statement: [{ Effect: "Allow", Action: ["iam:*", "sts:*"], Resource: "*" }],
      }),
    }),
  );
  const key = await iam.send(new CreateAccessKeyCommand({ UserName: name }));
  return { name, accessKey: key.AccessKey!.AccessKeyId!, secretKey: key.AccessKey!.SecretAccessKey! };
}

async function keyIds(userName: string): Promise<string[]> {
  const { iam } = clients();
  const keys = await iam.send(new ListAccessKeysCommand({ UserName: userName }));
  return (keys.AccessKeyMetadata ?? []).map((k) => k.AccessKeyId!);
}

describe("rotateRootKey", () => {
  it("replaces the key: the old one is rejected afterwards and the new one works", async () => {
    const user = await createEngineUser();
    const rotated = await rotateRootKey(
      clientsFor(motoMountSettings({ accessKey: user.accessKey, secretKey: user.secretKey })),
      motoMountSettings({ accessKey: user.accessKey, secretKey: user.secretKey }),
    );

    expect(rotated.oldAccessKey).toBe(user.accessKey);
    expect(rotated.accessKey).not.toBe(user.accessKey);
    expect(await keyIds(user.name)).toEqual([rotated.accessKey]);

    const oldKey = clients(user.accessKey, user.secretKey);
    await expect(oldKey.sts.send(new GetCallerIdentityCommand({}))).rejects.toMatchObject({
      name: "InvalidClientTokenId",
    });
    const newKey = clients(rotated.accessKey, rotated.secretKey);
    const who = await newKey.sts.send(new GetCallerIdentityCommand({}));
    expect(who.Arn).toBe(`arn:aws:iam::${moto().accountId}:user/${user.name}`);
  });

  it("refuses a user that already has 2 keys and creates nothing", async () => {
    const user = await createEngineUser();
    const { iam } = clients();
    const second = await iam.send(new CreateAccessKeyCommand({ UserName: user.name }));

    await expect(
      rotateRootKey(
        clientsFor(motoMountSettings({ accessKey: user.accessKey, secretKey: user.secretKey })),
        motoMountSettings({ accessKey: user.accessKey, secretKey: user.secretKey }),
      ),
    ).rejects.toThrow(`IAM user "${user.name}" already has 2 access keys; delete one first`);
    expect((await keyIds(user.name)).sort()).toEqual([user.accessKey, second.AccessKey!.AccessKeyId!].sort());
  });

  it("needs static root credentials", async () => {
    await expect(
      rotateRootKey(
        clientsFor(motoMountSettings({ accessKey: undefined, secretKey: undefined })),
        motoMountSettings({ accessKey: undefined, secretKey: undefined }),
      ),
    ).rejects.toThrow("rotate-root needs static root credentials (accessKey/secretKey)");
  });
});
