// The server's request pipeline (server/app.ts) on the in-memory engine: routing by
// operation, tokens, ACL (create vs update, sudo), the body limit, the engine queue's
// 503, and draining. The real engine and moto are in test/e2e/server*.test.ts.
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import type { AddressInfo } from "node:net";
import { createVaultServer, type AuditEntry, type VaultServer } from "../../server/app";
import { bootstrapRootToken, createToken, lookupToken } from "../../service/auth/tokens";
import { writePolicy } from "../../service/auth/policies";
import { writeConfig, writeRole } from "../../service/mounts";
import { memoryContext, type MemoryEngine } from "./support/memoryEngine";
import type { ServiceContext } from "../../service/context";

let ctx: ServiceContext;
let engine: MemoryEngine;
let vault: VaultServer;
let addr: string;
let root: string;
const audit: AuditEntry[] = [];

async function start(opts: { maxConcurrent?: number; maxQueued?: number } = {}) {
  vault = createVaultServer({ ctx, maxConcurrent: opts.maxConcurrent ?? 4, maxQueued: opts.maxQueued ?? 8, audit: (e) => audit.push(e) });
  await new Promise<void>((r) => vault.server.listen(0, "127.0.0.1", r));
  addr = `http://127.0.0.1:${(vault.server.address() as AddressInfo).port}`;
}

async function call(method: string, path: string, opts: { token?: string; body?: string | object } = {}) {
  const body = typeof opts.body === "string" ? opts.body : opts.body ? JSON.stringify(opts.body) : undefined;
  const res = await fetch(`${addr}/v1/${path}`, { method, headers: opts.token ? { "X-Vault-Token": opts.token } : {}, body });
  const text = await res.text();
  return { status: res.status, body: text ? JSON.parse(text) : undefined };
}

async function tokenWith(policy: object): Promise<string> {
  const name = `p${Math.random().toString(36).slice(2, 8)}`;
  await writePolicy(ctx, name, JSON.stringify({ path: policy }));
  return (await createToken(ctx, (await lookupToken(ctx, root))!, { policies: [name] })).token;
}

beforeEach(async () => {
  ({ ctx, engine } = memoryContext());
  audit.length = 0;
  root = (await bootstrapRootToken(ctx)).token!;
  await writeConfig(ctx, { accessKey: "AKIAROOT", secretKey: "root-secret", region: "us-east-1" } as never);
  await writeRole(ctx, "deploy", { credentialType: "federation_token", policyArns: ["arn:aws:iam::aws:policy/ReadOnlyAccess"] } as never);
});

afterEach(async () => {
  await vault?.drain();
});

describe("the server's request pipeline", () => {
  it("issues through creds with Vault's envelope, and lists with LIST and ?list=true", async () => {
    await start();
    const r = await call("POST", "aws/creds/deploy", { token: root, body: { ttl: "1h" } });
    expect(r.status).toBe(200);
    expect(r.body).toMatchObject({
      lease_duration: 3600,
      renewable: false,
      data: { credential_type: "federation_token", region: "us-east-1" },
      wrap_info: null,
      mount_type: "aws",
    });
    expect(r.body.lease_id).toMatch(/^aws\/sts\/deploy\//);
    expect(r.body.request_id).toMatch(/^[0-9a-f-]{36}$/);
    expect((await call("LIST", "aws/roles", { token: root })).body.data).toEqual({ keys: ["deploy"] });
    expect((await call("GET", "aws/roles?list=true", { token: root })).body.data).toEqual({ keys: ["deploy"] });
    const line = audit.find((e) => e.path === "aws/creds/deploy")!;
    expect(line).toMatchObject({ operation: "update", status: 200, lease_id: r.body.lease_id });
    expect(JSON.stringify(audit)).not.toContain(root);
  });

  it("a policy's create is not update: a create-only token may add a role but not change it", async () => {
    await start();
    const token = await tokenWith({ "aws/roles/*": { capabilities: ["create"] } });
    const role = { credential_type: "iam_user", policy_arns: "arn:aws:iam::aws:policy/ReadOnlyAccess" };
    expect((await call("POST", "aws/roles/new", { token, body: role })).status).toBe(204);
    expect(await call("POST", "aws/roles/new", { token, body: role })).toEqual({ status: 403, body: { errors: ["permission denied"] } });
    expect((await call("GET", "aws/roles/new", { token })).status).toBe(403);
  });

  it("sys/mounts and revoke-prefix need sudo as well", async () => {
    await start();
    const plain = await tokenWith({ "sys/mounts/*": { capabilities: ["create", "update"] } });
    const sudo = await tokenWith({ "sys/mounts/*": { capabilities: ["create", "update", "sudo"] } });
    expect((await call("POST", "sys/mounts/other", { token: plain, body: { type: "aws" } })).status).toBe(403);
    expect((await call("POST", "sys/mounts/other", { token: sudo, body: { type: "aws" } })).status).toBe(204);
    expect((await call("POST", "sys/mounts/sys", { token: root, body: { type: "aws" } })).body.errors[0]).toMatch(/reserved/);
    expect((await call("POST", "sys/mounts/x2", { token: root, body: { type: "kv" } })).status).toBe(400);
  });

  it("bodies over 1 MiB are refused with 413", async () => {
    await start();
    const r = await call("POST", "aws/roles/big", { token: root, body: JSON.stringify({ policy_document: "x".repeat(1024 * 1024 + 10) }) });
    expect(r.status).toBe(413);
    expect(engine.runs.filter((x) => x.startsWith("applyMount")).length).toBe(2); // only the two of beforeEach
  });

  it("engine runs beyond max-concurrent queue, and beyond the queue get 503", async () => {
    engine.upDelayMs = 300;
    await start({ maxConcurrent: 1, maxQueued: 1 });
    const answers = await Promise.all([1, 2, 3].map(() => call("POST", "aws/creds/deploy", { token: root })));
    expect(answers.map((a) => a.status).sort()).toEqual([200, 200, 503]);
    expect(answers.find((a) => a.status === 503)!.body.errors[0]).toMatch(/too many requests in progress/);
  });

  it("while draining, health answers 503 and requests in flight still finish", async () => {
    engine.upDelayMs = 300;
    await start();
    const inFlight = call("POST", "aws/creds/deploy", { token: root });
    await new Promise((r) => setTimeout(r, 50));
    const drained = vault.drain();
    const [answer] = await Promise.all([inFlight, drained]);
    expect(answer.status).toBe(200);
    expect(vault.inFlight()).toBe(0);
  });
});
