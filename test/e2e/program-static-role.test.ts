// AwsStaticRole in a user's own Pulumi program, through the real `pulumi` CLI against
// moto: up makes the first key, refresh notices a key deleted out of band and the next
// up makes a new one, a new `rotation` value rotates (the old key retired, still
// working), the secret key is encrypted in state, and destroy deletes awslease's keys
// and keeps the user.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { CreateUserCommand, DeleteAccessKeyCommand, GetUserCommand, ListAccessKeysCommand, PutUserPolicyCommand } from "@aws-sdk/client-iam";
import { GetCallerIdentityCommand } from "@aws-sdk/client-sts";
import { clients, moto, uniq, errorName, allowPolicy } from "../support/aws";
import { PulumiProject, resourcesOfType } from "../support/project";

const PROGRAM = `
import * as pulumi from "@pulumi/pulumi";
import { AwsEngineConfig, AwsStaticRole } from "awslease";

const config = new pulumi.Config();
const engine = new AwsEngineConfig("aws", {
  region: "us-east-1",
  iamEndpoint: config.require("iamEndpoint"),
  stsEndpoint: config.require("stsEndpoint"),
  accessKey: config.require("rootAccessKey"),
  secretKey: config.requireSecret("rootSecretKey"),
});
const svc = new AwsStaticRole("svc", {
  engine: engine.settings,
  username: config.require("username"),
  rotationPeriod: "24h",
  rotation: config.get("rotation"),
});
export const accessKey = svc.accessKey;
export const secretKey = svc.secretKey;
export const expiration = svc.expiration;
`;

let project: PulumiProject;
let user: string;
const root = () => clients().iam;

interface Outputs {
  accessKey: string;
  secretKey: string;
  expiration: string;
}

async function works(o: Pick<Outputs, "accessKey" | "secretKey">): Promise<boolean> {
  return (await errorName(clients(o.accessKey, o.secretKey).sts.send(new GetCallerIdentityCommand({})))) === "no error";
}

async function keysOf(): Promise<string[]> {
  return ((await root().send(new ListAccessKeysCommand({ UserName: user }))).AccessKeyMetadata ?? []).map((k) => k.AccessKeyId!).sort();
}

beforeAll(async () => {
  user = uniq("svc");
  await root().send(new CreateUserCommand({ UserName: user }));
  await root().send(new PutUserPolicyCommand({ UserName: user, PolicyName: "whoami", PolicyDocument: allowPolicy(["sts:GetCallerIdentity"]) }));
  project = await PulumiProject.create({ example: "iam-user", files: { "index.ts": PROGRAM }, install: "link" });
  await project.initStack("e2e");
  await project.setConfig("iamEndpoint", moto().endpoint);
  await project.setConfig("stsEndpoint", moto().endpoint);
  await project.setConfig("rootAccessKey", moto().accessKey);
  await project.setSecret("rootSecretKey", moto().secretKey);
  await project.setConfig("username", user);
});

afterAll(async () => {
  await project?.destroy().catch(() => undefined);
  project?.cleanup();
});

describe("AwsStaticRole in a Pulumi program", () => {
  let first: Outputs;

  it("up makes the user's key; it works, and its secret is encrypted in state", async () => {
    await project.up();
    first = (await project.outputs()) as Outputs;
    expect(await works(first)).toBe(true);
    expect(await keysOf()).toEqual([first.accessKey]);
    const state = JSON.stringify(await project.exportStack());
    expect(state).not.toContain(first.secretKey);
    expect(resourcesOfType(await project.exportStack(), "AwsStaticRole")).toHaveLength(1);
  });

  it("a key deleted out of band: refresh notices, and the next up makes a new one", async () => {
    await root().send(new DeleteAccessKeyCommand({ UserName: user, AccessKeyId: first.accessKey }));
    await project.refresh();
    const [resource] = resourcesOfType(await project.exportStack(), "AwsStaticRole");
    expect((resource as { outputs: { keyMissing?: boolean } }).outputs.keyMissing).toBe(true);
    await project.up();
    const next = (await project.outputs()) as Outputs;
    expect(next.accessKey).not.toBe(first.accessKey);
    expect(await works(next)).toBe(true);
    expect(await keysOf()).toEqual([next.accessKey]);
    first = next;
  });

  it("a new rotation value rotates: the new key works and the old one is retired, still working", async () => {
    await project.setConfig("rotation", "2026-12-02");
    await project.up();
    const rotated = (await project.outputs()) as Outputs;
    expect(rotated.accessKey).not.toBe(first.accessKey);
    expect(await works(rotated)).toBe(true);
    expect(await works(first)).toBe(true);
    expect(await keysOf()).toEqual([first.accessKey, rotated.accessKey].sort());
  });

  it("destroy deletes awslease's keys and keeps the user", async () => {
    await project.destroy();
    expect(await keysOf()).toEqual([]);
    expect(await errorName(root().send(new GetUserCommand({ UserName: user })))).toBe("no error");
  });
});
