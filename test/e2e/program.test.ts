// examples/iam-user through the real `pulumi` CLI against moto: the stack state is the
// lease table. The steps run in order on one stack (each builds on the last):
// up -> secrets scan -> refresh / out-of-band revoke -> renew -> replace -> code
// upgrade -> rotate-root -> expiring lease -> destroy from another checkout.
//
// Every iam_user key carries the awslease-expiry deny policy; the tests' moto
// (scripts/moto_server.py) evaluates its date condition as AWS does, so the key keeps
// the role's permissions until the expiry.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import {
  AttachUserPolicyCommand,
  CreateAccessKeyCommand,
  CreateUserCommand,
  GetUserCommand,
  GetUserPolicyCommand,
  ListAccessKeysCommand,
  ListRolesCommand,
  ListUsersCommand,
} from "@aws-sdk/client-iam";
import { GetCallerIdentityCommand } from "@aws-sdk/client-sts";
import { EXPIRY_POLICY_NAME, revokeIamUser } from "../../provider/aws/iamUser";
import { clients, motoMountSettings, moto, uniq, errorName } from "../support/aws";
import { isEncryptedSecret, PulumiProject, resourcesOfType, type StackExport } from "../support/project";
import { clientsFor } from "../support/clients";

interface LeaseOutputs {
  leaseId: string;
  username: string;
  expiresAt: string;
  accessKey: string;
  secretKey: string;
}

let project: PulumiProject;
/** The engine's root: a dedicated admin user, so rotate-root never touches moto's bootstrap root. */
let engineRoot: { name: string; accessKey: string; secretKey: string };
/** Every lease the stack has held, to prove at the end that none survived destroy. */
const seen: LeaseOutputs[] = [];

const root = () => clients().iam;

async function leaseOutputs(): Promise<LeaseOutputs> {
  const outputs = (await project.outputs()) as LeaseOutputs;
  seen.push(outputs);
  return outputs;
}

async function userExists(username: string): Promise<boolean> {
  return (await errorName(root().send(new GetUserCommand({ UserName: username })))) === "no error";
}

/** The expiry the user's awslease-expiry deny policy enforces. */
async function enforcedExpiry(username: string): Promise<string> {
  const policy = await root().send(new GetUserPolicyCommand({ UserName: username, PolicyName: EXPIRY_POLICY_NAME }));
  const doc = JSON.parse(decodeURIComponent(policy.PolicyDocument!));
  expect(doc.Statement).toHaveLength(1);
  expect(doc.Statement[0]).toMatchObject({ Effect: "Deny", Action: "*", Resource: "*" });
  return doc.Statement[0].Condition.DateGreaterThan["aws:CurrentTime"];
}

function keyClients(lease: LeaseOutputs) {
  return clients(lease.accessKey, lease.secretKey);
}

function leaseResources(state: StackExport) {
  return resourcesOfType(state, "AwsLease");
}

beforeAll(async () => {
  const name = uniq("e2e-engine-root");
  await root().send(new CreateUserCommand({ UserName: name }));
  await root().send(new AttachUserPolicyCommand({ UserName: name, PolicyArn: "arn:aws:iam::aws:policy/AdministratorAccess" }));
  const key = await root().send(new CreateAccessKeyCommand({ UserName: name }));
  engineRoot = { name, accessKey: key.AccessKey!.AccessKeyId!, secretKey: key.AccessKey!.SecretAccessKey! };

  project = await PulumiProject.create({ example: "iam-user", install: "link" });
  await project.initStack("e2e");
  await project.setConfig("iamEndpoint", moto().endpoint);
  await project.setConfig("stsEndpoint", moto().endpoint);
  await project.setConfig("rootAccessKey", engineRoot.accessKey);
  await project.setSecret("rootSecretKey", engineRoot.secretKey);
});

afterAll(async () => {
  // A failed step may leave the stack up: revoke what it holds before the files go.
  if (project && leaseResources(await project.exportStack().catch(() => ({ version: 3, deployment: {} }))).length > 0) {
    await project.destroy().catch(() => undefined);
  }
  project?.cleanup();
});

describe("examples/iam-user through pulumi up / refresh / destroy", () => {
  let first: LeaseOutputs;

  it("up issues an IAM user lease whose key can do what the role allows and is denied the rest", async () => {
    const before = Date.now();
    await project.up();
    const after = Date.now();
    first = await leaseOutputs();
    expect(first.leaseId).toMatch(/^aws\/creds\/read-users\/[A-Za-z0-9]{24}$/);
    expect(first.accessKey).toMatch(/^AKIA/);
    expect(first.secretKey.length).toBeGreaterThan(20);
    // ttl "1h" from the example (expiresAt has whole seconds).
    expect(Date.parse(first.expiresAt)).toBeGreaterThanOrEqual(before - 1000 + 3600_000);
    expect(Date.parse(first.expiresAt)).toBeLessThanOrEqual(after + 3600_000);
    expect(await userExists(first.username)).toBe(true);
    expect(await enforcedExpiry(first.username)).toBe(first.expiresAt);

    const key = keyClients(first);
    const me = await key.sts.send(new GetCallerIdentityCommand({}));
    expect(me.Arn).toBe(`arn:aws:iam::${moto().accountId}:user/${first.username}`);
    await expect(key.iam.send(new ListUsersCommand({}))).resolves.toHaveProperty("Users");
    await expect(key.iam.send(new GetUserCommand({ UserName: first.username }))).resolves.toHaveProperty("User");
    expect(await errorName(key.iam.send(new ListRolesCommand({})))).toBe("AccessDenied");
    expect(await errorName(key.iam.send(new CreateUserCommand({ UserName: uniq("not-allowed") })))).toBe("AccessDenied");

    // A deployed lease is stable: the next `up` would change nothing.
    await project.pulumi(["preview", "--expect-no-changes", "--non-interactive"]);
  });

  it("state holds the root secret key and the lease secret key only as ciphertext; __provider is the small shim", async () => {
    const state = await project.exportStack();
    const secrets = [engineRoot.secretKey, first.secretKey];
    const haystacks = [
      { path: "pulumi stack export", text: JSON.stringify(state) },
      ...project.stateFiles(),
      ...project.transcript.map((text, i) => ({ path: `command output #${i}`, text })),
    ];
    // The backend really has the state (and the scan is not vacuous).
    expect(haystacks.some((h) => h.path.endsWith(".pulumi/stacks/awslease-iam-user/e2e.json"))).toBe(true);
    expect(haystacks.some((h) => h.text.includes(first.leaseId))).toBe(true);
    for (const { path, text } of haystacks) {
      for (const secret of secrets) expect(text.includes(secret), `a secret in plaintext in ${path}`).toBe(false);
    }

    const stack = resourcesOfType(state, "Stack")[0];
    expect(isEncryptedSecret(stack.outputs!.secretKey)).toBe(true);
    expect(stack.outputs!.accessKey).toBe(first.accessKey);

    const [engine] = resourcesOfType(state, "AwsEngineConfig");
    expect(isEncryptedSecret(engine.inputs!.input)).toBe(true);
    expect(isEncryptedSecret(engine.outputs!.input)).toBe(true);
    expect(isEncryptedSecret(engine.outputs!.settings)).toBe(true);
    expect(engine.outputs!.callerArn).toBe(`arn:aws:iam::${moto().accountId}:user/${engineRoot.name}`);

    const [lease] = leaseResources(state);
    expect(lease.id).toBe(first.leaseId);
    expect(isEncryptedSecret(lease.outputs!.secretKey)).toBe(true);
    expect(isEncryptedSecret(lease.outputs!.engine)).toBe(true);
    expect(isEncryptedSecret(lease.inputs!.engine)).toBe(true);
    expect(lease.outputs!.accessKey).toBe(first.accessKey);

    for (const r of [engine, ...resourcesOfType(state, "AwsRole"), lease]) {
      const provider = r.outputs!.__provider;
      // A plain string: nothing secret was captured (Pulumi would have made it a secret).
      expect(typeof provider, r.type).toBe("string");
      expect(provider).toBe(r.inputs!.__provider);
      expect(provider.length).toBeLessThan(8_000);
      expect(provider).toContain('"awslease/provider-runtime"');
      // No config, credentials or SDK captured into it.
      expect(provider).not.toContain(moto().endpoint);
      expect(provider).not.toContain(engineRoot.accessKey);
      expect(provider).not.toMatch(/@aws-sdk|AKIA|ASIA/);
    }
  });

  it("refresh keeps a live lease; a user deleted out of band is dropped by refresh; the next up issues a fresh lease", async () => {
    await project.refresh();
    let state = await project.exportStack();
    expect(leaseResources(state).map((r) => r.id)).toEqual([first.leaseId]);

    const { existed } = await revokeIamUser(clientsFor(motoMountSettings()), first.username);
    expect(existed).toBe(true);
    await project.refresh();
    state = await project.exportStack();
    expect(leaseResources(state)).toEqual([]);
    expect(resourcesOfType(state, "AwsRole")).toHaveLength(1);

    await project.up();
    const fresh = await leaseOutputs();
    expect(fresh.leaseId).not.toBe(first.leaseId);
    expect(fresh.accessKey).not.toBe(first.accessKey);
    expect(await userExists(fresh.username)).toBe(true);
    const me = await keyClients(fresh).sts.send(new GetCallerIdentityCommand({}));
    expect(me.Arn).toBe(`arn:aws:iam::${moto().accountId}:user/${fresh.username}`);
    expect(await errorName(keyClients(first).sts.send(new GetCallerIdentityCommand({})))).toBe("InvalidClientTokenId");
  });

  it("changing the ttl of an iam_user lease renews it in place: same lease and key, later expiry, moved deny policy", async () => {
    const before = seen[seen.length - 1];
    await project.setConfig("ttl", "2h");
    await project.up();
    const renewed = await leaseOutputs();
    expect(renewed.leaseId).toBe(before.leaseId);
    expect(renewed.accessKey).toBe(before.accessKey);
    expect(renewed.username).toBe(before.username);
    expect(Date.parse(renewed.expiresAt) - Date.parse(before.expiresAt)).toBeGreaterThan(3000 * 1000);
    expect(await enforcedExpiry(renewed.username)).toBe(renewed.expiresAt);
  });

  it("changing the role's policy replaces the lease: new lease with the new permissions, old IAM user gone", async () => {
    const before = seen[seen.length - 1];
    await project.setConfig("allowedActions", JSON.stringify(["iam:ListRoles"]));
    const steps = (await project.previewSteps()).filter((s) => s.op !== "same").map((s) => `${s.op} ${s.name}`);
    expect(steps).toEqual(["update read-users", "replace ci"]);
    const up = await project.up();
    expect(up).toContain(`awslease: ${before.leaseId}: deleted IAM user ${before.username}`);
    const replaced = await leaseOutputs();
    expect(replaced.leaseId).not.toBe(before.leaseId);
    expect(replaced.username).not.toBe(before.username);
    expect(await userExists(before.username)).toBe(false);
    expect(await errorName(keyClients(before).sts.send(new GetCallerIdentityCommand({})))).toBe("InvalidClientTokenId");

    const key = keyClients(replaced);
    await expect(key.iam.send(new ListRolesCommand({}))).resolves.toHaveProperty("Roles");
    expect(await errorName(key.iam.send(new ListUsersCommand({})))).toBe("AccessDenied");
  });

  it("a code-only change (a new awslease shim) updates the stored provider without replacing the lease", async () => {
    const before = seen[seen.length - 1];
    const shimPath = join(project.packageDir!, "dist/provider/shim.js");
    const shim = readFileSync(shimPath, "utf8");
    const marker = "// Resolve from the project directory";
    expect(shim).toContain(marker);
    // A comment inside a serialized function body: it changes __provider and nothing else.
    writeFileSync(shimPath, shim.replace(marker, `// e2e: awslease upgraded.\n    ${marker}`));

    // The preview says so too: the lease is updated (to store the new shim), nothing else changes.
    const steps = (await project.previewSteps()).filter((s) => s.op !== "same");
    expect(steps).toEqual([{ op: "update", type: "pulumi-nodejs:dynamic/awslease:AwsLease", name: "ci" }]);

    await project.up();
    const after = await leaseOutputs();
    expect(after.leaseId).toBe(before.leaseId);
    expect(after.accessKey).toBe(before.accessKey);
    expect(after.expiresAt).toBe(before.expiresAt);
    expect(await userExists(after.username)).toBe(true);
    // A lease's destroy and refresh run the code stored in state: it must be the new
    // shim. (The engine and role keep theirs: their read and delete work with any.)
    const state = await project.exportStack();
    expect(leaseResources(state)[0].outputs!.__provider).toContain("e2e: awslease upgraded.");
    expect(resourcesOfType(state, "AwsRole")[0].outputs!.__provider).not.toContain("e2e: awslease upgraded.");
    await project.pulumi(["preview", "--expect-no-changes", "--non-interactive"]);
  });

  it("changing rotateRootTrigger rotates the root key; leases are kept and revoked with the new key", async () => {
    const before = seen[seen.length - 1];
    await project.setConfig("rotateRootTrigger", "rotated-by-e2e");
    // The preview shows the engine updated and the lease at most updated, never
    // replaced: the engine's settings are unknown until it runs, its identity is not.
    const steps = await project.previewSteps();
    expect(steps).toContainEqual(expect.objectContaining({ op: "update", name: "aws" }));
    expect(steps.filter((s) => s.type.endsWith("AwsLease")).map((s) => s.op)).not.toContain("replace");
    await project.up();

    const keys = await root().send(new ListAccessKeysCommand({ UserName: engineRoot.name }));
    const keyIds = (keys.AccessKeyMetadata ?? []).map((k) => k.AccessKeyId);
    expect(keyIds).toHaveLength(1);
    expect(keyIds[0]).not.toBe(engineRoot.accessKey);
    const oldRoot = clients(engineRoot.accessKey, engineRoot.secretKey);
    expect(await errorName(oldRoot.sts.send(new GetCallerIdentityCommand({})))).toBe("InvalidClientTokenId");

    const after = await leaseOutputs();
    expect(after.leaseId).toBe(before.leaseId);
    expect(after.accessKey).toBe(before.accessKey);

    // The config still holds the old (now deleted) key: the engine keeps the rotated one,
    // so nothing changes, and refresh (engine read = sts:GetCallerIdentity) works with it.
    await project.pulumi(["preview", "--expect-no-changes", "--non-interactive"]);
    await project.refresh();
    const state = await project.exportStack();
    expect(leaseResources(state).map((r) => r.id)).toEqual([before.leaseId]);
    const rotated = resourcesOfType(state, "AwsEngineConfig")[0];
    expect(typeof rotated.outputs!.rotatedAt).toBe("string");
    // The old root secret is still in the config (ciphertext); the new one only in state, as ciphertext too.
    for (const { path, text } of project.stateFiles()) {
      expect(text.includes(engineRoot.secretKey), `old root secret in plaintext in ${path}`).toBe(false);
    }
  });

  it("a lease about to expire (less than a minute or 20% left) is replaced by the next up", async () => {
    const before = seen[seen.length - 1];
    // A ttl change renews first (same lease, 61 s from now) ...
    await project.setConfig("ttl", "61s");
    await project.up();
    const renewed = await leaseOutputs();
    expect(renewed.leaseId).toBe(before.leaseId);
    expect(Date.parse(renewed.expiresAt) - Date.now()).toBeLessThan(61_000);

    // ... and with under 60 s left, the next up issues a fresh lease and revokes the old one.
    await project.up();
    const fresh = await leaseOutputs();
    expect(fresh.leaseId).not.toBe(renewed.leaseId);
    expect(fresh.accessKey).not.toBe(renewed.accessKey);
    expect(await userExists(renewed.username)).toBe(false);
    expect(await userExists(fresh.username)).toBe(true);
  });

  it("destroy from another checkout (no stack config) revokes everything with the rotated root key", async () => {
    const last = seen[seen.length - 1];
    expect(await userExists(last.username)).toBe(true);
    // Another machine sharing the backend: no Pulumi.e2e.yaml, so not even the old root
    // key from config; revoke runs on what the state holds.
    const other = project.otherCheckout();
    await project.pulumi(["stack", "select", "e2e", "--non-interactive"], { cwd: other });
    const destroyed = await project.destroy({ cwd: other });
    expect(destroyed).toContain(`awslease: ${last.leaseId}: deleted IAM user ${last.username}`);

    const state = await project.exportStack();
    expect(state.deployment.resources ?? []).toEqual([]);
    for (const lease of seen) expect(await userExists(lease.username), lease.username).toBe(false);
    expect(await errorName(keyClients(last).sts.send(new GetCallerIdentityCommand({})))).toBe("InvalidClientTokenId");
    // Revoke ran with the rotated root key, which is still the engine user's only key.
    const keys = await root().send(new ListAccessKeysCommand({ UserName: engineRoot.name }));
    expect(keys.AccessKeyMetadata ?? []).toHaveLength(1);
  });
});
