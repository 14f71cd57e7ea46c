// `awslease server` driven by a real Vault client library (node-vault, which sends the
// LIST method and Vault's JSON shapes) and by raw HTTP for status codes and error
// shapes, against the real engine and moto.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { ListUsersCommand, CreateUserCommand, PutUserPolicyCommand } from "@aws-sdk/client-iam";
import { GetCallerIdentityCommand } from "@aws-sdk/client-sts";
import { clients, moto, uniq, errorName } from "../support/aws";
import { allowPolicy, cliRunner, ok, rootClients, startServer, taggedUsers, userExists, type Runner, rootTokenOf } from "../support/cli";

// node-vault has no type declarations; the calls used here are its documented API.
const nodeVault = require("node-vault") as (opts: { endpoint: string; token?: string; apiVersion?: string }) => VaultClient;

interface VaultClient {
  token: string;
  health(): Promise<Record<string, unknown>>;
  mounts(): Promise<Record<string, unknown>>;
  mount(args: { mount_point: string; type: string }): Promise<unknown>;
  unmount(args: { mount_point: string }): Promise<unknown>;
  read(path: string): Promise<VaultBody>;
  write(path: string, data: Record<string, unknown>): Promise<VaultBody | undefined>;
  list(path: string): Promise<VaultBody>;
  delete(path: string): Promise<unknown>;
  tokenCreate(args: Record<string, unknown>): Promise<VaultBody>;
  tokenLookupSelf(): Promise<VaultBody>;
  tokenRenewSelf(args?: Record<string, unknown>): Promise<VaultBody>;
  tokenRevokeSelf(): Promise<unknown>;
  renew(args: { lease_id: string; increment?: number }): Promise<VaultBody>;
  revoke(args: { lease_id: string }): Promise<unknown>;
  addPolicy(args: { name: string; rules: string }): Promise<unknown>;
  getPolicy(args: { name: string }): Promise<VaultBody>;
  policies(): Promise<Record<string, unknown>>;
}

interface VaultBody {
  request_id?: string;
  lease_id?: string;
  lease_duration?: number;
  renewable?: boolean;
  data?: Record<string, any>;
  auth?: Record<string, any>;
  warnings?: string[] | null;
}

const mount = uniq("srv");
let runner: Runner;
let server: ReturnType<Runner["start"]>;
let addr = "";
let rootToken = "";
let root: VaultClient;
let scopedToken = "";
let issued: VaultBody;
const auditFile = () => join(runner.home, "audit.jsonl");

/** node-vault's rejection: its message is Vault's first error; the status is on the response. */
async function failure(p: Promise<unknown>): Promise<{ status: number; message: string }> {
  try {
    await p;
  } catch (err) {
    const e = err as { message: string; response?: { statusCode?: number } };
    return { status: e.response?.statusCode ?? 0, message: e.message };
  }
  throw new Error("expected the request to fail");
}

function client(token: string): VaultClient {
  return nodeVault({ endpoint: addr, token, apiVersion: "v1" });
}

async function raw(method: string, path: string, opts: { token?: string; body?: string } = {}) {
  const res = await fetch(`${addr}/v1/${path}`, {
    method,
    headers: { ...(opts.token ? { "X-Vault-Token": opts.token } : {}), ...(opts.body ? { "Content-Type": "application/json" } : {}) },
    body: opts.body,
  });
  const text = await res.text();
  return { status: res.status, body: text ? JSON.parse(text) : undefined };
}

beforeAll(async () => {
  runner = cliRunner();
  const started = await startServer(runner, ["--audit-log", join(runner.home, "audit.jsonl"), "--expiration-rescan", "1s"]);
  server = started.start;
  addr = started.addr;
  rootToken = rootTokenOf(started);
  root = client(rootToken);
}, 90_000);

afterAll(async () => {
  if (server && server.child.exitCode === null) {
    server.child.kill("SIGTERM");
    await server.result.catch(() => undefined);
  }
  runner?.cleanup();
});

describe("awslease server through node-vault", () => {
  it("prints the root token once and stores only its hash", async () => {
    expect(rootToken).toMatch(/^hvs\.[0-9A-Za-z]{32}$/);
    const health = await root.health();
    expect(health).toMatchObject({ initialized: true, sealed: false, standby: false });
    const state = readFileSync(
      join(runner.home, "state", ".awslease", "auth", "tokens", readdirSync(join(runner.home, "state", ".awslease", "auth", "tokens"))[0]),
      "utf8",
    );
    expect(state).not.toContain(rootToken);
  });

  it("enables a mount and configures it: config/root never shows the secret key", async () => {
    const m = moto();
    await root.mount({ mount_point: mount, type: "aws" });
    expect(Object.keys(await root.mounts())).toContain(`${mount}/`);
    await root.write(`${mount}/config/root`, {
      access_key: m.accessKey,
      secret_key: m.secretKey,
      region: m.region,
      iam_endpoint: m.endpoint,
      sts_endpoint: m.endpoint,
    });
    await root.write(`${mount}/config/lease`, { lease: "1h", lease_max: "2h" });
    const cfg = await root.read(`${mount}/config/root`);
    expect(cfg.data).toMatchObject({ access_key: m.accessKey, region: m.region, iam_endpoint: m.endpoint });
    expect(JSON.stringify(cfg)).not.toContain(m.secretKey);
    expect((await root.read(`${mount}/config/lease`)).data).toEqual({ lease: "1h0m0s", lease_max: "2h0m0s" });
    // A second enable of the same path is Vault's 400.
    expect(await failure(root.mount({ mount_point: mount, type: "aws" }))).toMatchObject({
      status: 400,
      message: expect.stringContaining("path is already in use"),
    });
  });

  it("writes, lists (LIST method) and reads roles with Vault's field names", async () => {
    await root.write(`${mount}/roles/deploy`, { credential_type: "iam_user", policy_document: allowPolicy(["iam:ListUsers"]) });
    await root.write(`${mount}/roles/other`, { credential_type: "iam_user", policy_document: allowPolicy(["iam:ListUsers"]) });
    expect((await root.list(`${mount}/roles`)).data).toEqual({ keys: ["deploy", "other"] });
    const role = await root.read(`${mount}/roles/deploy`);
    expect(role.data).toMatchObject({ credential_type: "iam_user", policy_arns: [], user_path: "/" });
    expect(await failure(root.read(`${mount}/roles/nope`))).toMatchObject({ status: 404 });
    expect(await failure(root.write(`${mount}/roles/bad`, { credential_type: "iam_user", role_arns: ["arn:aws:iam::123456789012:role/x"] }))).toMatchObject({
      status: 400,
      message: expect.stringMatching(/role_arns|roleArns/),
    });
  });

  it("a token scoped to one role issues it, and gets 403 on another role and on config/root", async () => {
    await root.write("sys/policies/acl/deploy-only", {
      policy: JSON.stringify({ path: { [`${mount}/creds/deploy`]: { capabilities: ["read", "update"] }, "sys/leases/revoke": { capabilities: ["update"] } } }),
    });
    // A separate client: node-vault's tokenCreate switches the calling client to the new token.
    const created = await client(rootToken).tokenCreate({ policies: ["deploy-only"], ttl: "1h", display_name: "ci" });
    scopedToken = created.auth!.client_token;
    expect(created.auth).toMatchObject({ policies: ["default", "deploy-only"], renewable: true, token_type: "service" });
    const scoped = client(scopedToken);
    const self = await scoped.tokenLookupSelf();
    expect(self.data).toMatchObject({ display_name: "token-ci", policies: ["default", "deploy-only"] });

    issued = await scoped.read(`${mount}/creds/deploy`);
    expect(issued.lease_id).toMatch(new RegExp(`^${mount}/creds/deploy/[a-zA-Z0-9]{24}$`));
    expect(issued).toMatchObject({ renewable: true, lease_duration: 3600 });
    // The token's display name is the username template's DisplayName, as in Vault.
    expect(issued.data!.arn).toMatch(/:user\/awslease-token-ci-deploy-/);
    const iam = clients(issued.data!.access_key, issued.data!.secret_key).iam;
    expect(await errorName(iam.send(new ListUsersCommand({})))).toBe("no error");
    expect(await errorName(iam.send(new CreateUserCommand({ UserName: uniq("denied") })))).toBe("AccessDenied");

    expect(await failure(scoped.read(`${mount}/creds/other`))).toEqual({ status: 403, message: "permission denied" });
    expect(await failure(scoped.read(`${mount}/config/root`))).toEqual({ status: 403, message: "permission denied" });
    expect(await failure(scoped.write("sys/policies/acl/mine", { policy: "{}" }))).toEqual({ status: 403, message: "permission denied" });
  });

  it("looks up, renews and revokes the lease through sys/leases", async () => {
    const lookup = await root.write("sys/leases/lookup", { lease_id: issued.lease_id });
    expect(lookup!.data).toMatchObject({ id: issued.lease_id, renewable: true });
    expect(lookup!.data!.ttl).toBeGreaterThan(3500);
    const listed = await root.list(`sys/leases/lookup/${mount}/creds/`);
    expect(listed.data!.keys).toEqual(["deploy/"]);
    const renewed = await root.renew({ lease_id: issued.lease_id!, increment: 1800 });
    expect(renewed).toMatchObject({ lease_id: issued.lease_id, renewable: true, lease_duration: 1800 });

    const username = issued.data!.arn.split("/").pop()!;
    expect(await userExists(username)).toBe(true);
    await client(scopedToken).revoke({ lease_id: issued.lease_id! });
    expect(await userExists(username)).toBe(false);
    expect(await failure(root.write("sys/leases/lookup", { lease_id: issued.lease_id }))).toMatchObject({
      status: 400,
      message: expect.stringContaining("no such lease"),
    });
  });

  it("the expiration manager revokes a 5-second lease at its expiry, with no sweep run", async () => {
    const lease = await root.write(`${mount}/creds/deploy`, { ttl: "5s" });
    const username = lease!.data!.arn.split("/").pop()!;
    expect(await userExists(username)).toBe(true);
    const deadline = Date.now() + 60_000;
    while (await userExists(username)) {
      if (Date.now() > deadline) throw new Error(`${username} still exists a minute after its lease expired`);
      await new Promise((r) => setTimeout(r, 500));
    }
    // The IAM user goes first, then the lease's stack (revokeDirect): the lookup fails once both are gone.
    while (
      (await root.write("sys/leases/lookup", { lease_id: lease!.lease_id }).then(
        () => 200,
        (e: { response?: { statusCode?: number } }) => e.response?.statusCode,
      )) === 200
    ) {
      if (Date.now() > deadline) throw new Error(`${lease!.lease_id} is still listed a minute after its IAM user went`);
      await new Promise((r) => setTimeout(r, 250));
    }
    expect(await failure(root.write("sys/leases/lookup", { lease_id: lease!.lease_id }))).toMatchObject({
      status: 400,
      message: expect.stringContaining("no such lease"),
    });
    const events = readFileSync(auditFile(), "utf8");
    expect(events).toContain(lease!.lease_id);
  });

  it("tokens renew and revoke themselves; a revoked token is refused", async () => {
    const scoped = client(scopedToken);
    const renewed = await scoped.tokenRenewSelf({ increment: "30m" });
    expect(renewed.auth!.lease_duration).toBeGreaterThan(1700);
    await scoped.tokenRevokeSelf();
    expect(await failure(client(scopedToken).tokenLookupSelf())).toEqual({ status: 403, message: "permission denied" });
  });
});

describe("the CLI through the server (AWSLEASE_ADDR): no passphrase on the runner", () => {
  it("issue, list, credential-process reuse, revoke; backend-only commands refuse with one line", async () => {
    await root.write("sys/policies/acl/ci-cli", {
      policy: JSON.stringify({
        path: {
          [`${mount}/creds/deploy`]: { capabilities: ["read", "update"] },
          [`${mount}/roles`]: { capabilities: ["list"] },
          [`${mount}/roles/*`]: { capabilities: ["read"] },
          "sys/leases/revoke": { capabilities: ["update"] },
          [`sys/leases/lookup/${mount}/*`]: { capabilities: ["list", "sudo"] },
        },
      }),
    });
    const token = (await client(rootToken).tokenCreate({ policies: ["ci-cli"], ttl: "1h", display_name: "runner" })).auth!.client_token;
    const ci = cliRunner({ mount, env: { AWSLEASE_ADDR: addr, AWSLEASE_TOKEN: token } });
    const noPassphrase = { env: { PULUMI_CONFIG_PASSPHRASE: undefined } };
    try {
      const issuedJson = JSON.parse(await ok(ci.run(["issue", "deploy", "--format", "json", "--quiet"], noPassphrase)));
      expect(issuedJson.lease_id).toMatch(new RegExp(`^${mount}/creds/deploy/`));
      const iam = clients(issuedJson.data.access_key, issuedJson.data.secret_key).iam;
      expect(await errorName(iam.send(new ListUsersCommand({})))).toBe("no error");
      const listed = JSON.parse(await ok(ci.run(["lease", "list", "--format", "json"], noPassphrase)));
      expect(listed.map((r: { lease_id: string }) => r.lease_id)).toContain(issuedJson.lease_id);
      expect(JSON.parse(await ok(ci.run(["role", "list", "--format", "json"], noPassphrase)))).toEqual(["deploy", "other"]);
      // credential_process through the server: the second call hands out the same lease.
      const first = JSON.parse(await ok(ci.run(["credential-process", "deploy", "--ttl", "1h", "--quiet"], noPassphrase)));
      const second = JSON.parse(await ok(ci.run(["credential-process", "deploy", "--ttl", "1h", "--quiet"], noPassphrase)));
      expect(second.AccessKeyId).toBe(first.AccessKeyId);
      await ok(ci.run(["lease", "revoke", issuedJson.lease_id, "--quiet"], noPassphrase));
      expect(await userExists(issuedJson.data.arn.split("/").pop())).toBe(false);
      const refused = await ci.run(["config", "write", "--region", "us-east-1"], noPassphrase);
      expect(refused.code).toBe(1);
      expect(refused.stderr.trim()).toMatch(/^awslease: error: AWSLEASE_ADDR: `config write` runs against the state backend/);
      const denied = await ci.run(["issue", "other", "--quiet"], noPassphrase);
      expect(denied.code).toBe(1);
      expect(denied.stderr.trim()).toMatch(/^awslease: error: AWSLEASE_TOKEN: the server refused POST .*creds\/other: permission denied$/);
      for (const r of [refused, denied]) expect(r.stderr).not.toContain(token);
    } finally {
      ci.cleanup();
    }
  });
});

describe("raw HTTP: Vault's status codes and error shapes", () => {
  it("no token or a wrong one: 403 permission denied; health needs none", async () => {
    expect(await raw("GET", `${mount}/roles/deploy`)).toEqual({ status: 403, body: { errors: ["permission denied"] } });
    expect(await raw("GET", `${mount}/roles/deploy`, { token: "hvs.wrong" })).toEqual({ status: 403, body: { errors: ["permission denied"] } });
    expect((await raw("GET", "sys/health")).status).toBe(200);
  });

  it("unknown path 404, unsupported method 405, bad JSON 400, GET ?list=true lists", async () => {
    expect((await raw("GET", `${mount}/nothing/here`, { token: rootToken })).status).toBe(404);
    expect((await raw("DELETE", `${mount}/creds/deploy`, { token: rootToken })).status).toBe(405);
    expect(await raw("PATCH", `${mount}/roles/deploy`, { token: rootToken })).toMatchObject({ status: 405 });
    expect(await raw("POST", `${mount}/roles/deploy`, { token: rootToken, body: "{not json" })).toEqual({
      status: 400,
      body: { errors: ["failed to parse JSON input"] },
    });
    const listed = await raw("GET", `${mount}/roles?list=true`, { token: rootToken });
    expect(listed.status).toBe(200);
    expect(listed.body.data.keys).toEqual(["deploy", "other"]);
  });

  it("an AWS failure is a 500 with one line naming the action, and leaves no IAM user", async () => {
    await root.write(`${mount}/roles/broken`, { credential_type: "iam_user", policy_arns: ["arn:aws:iam::123456789012:policy/does-not-exist"] });
    const r = await raw("GET", `${mount}/creds/broken`, { token: rootToken });
    expect(r.status).toBe(500);
    expect(r.body.errors).toHaveLength(1);
    expect(r.body.errors[0]).toMatch(/iam:AttachUserPolicy/);
    expect(await taggedUsers({ mount, role: "broken" })).toEqual([]);
  });
});

describe("static roles through node-vault", () => {
  it("static-roles (POST, GET, LIST, DELETE) and static-creds; the schedule rotates a due key; ACLs apply", async () => {
    const { iam } = rootClients();
    const user = uniq("svc");
    await iam.send(new CreateUserCommand({ UserName: user }));
    await iam.send(new PutUserPolicyCommand({ UserName: user, PolicyName: "whoami", PolicyDocument: allowPolicy(["sts:GetCallerIdentity"]) }));
    expect(await failure(root.write(`${mount}/static-roles/svc`, { username: user, rotation_period: "10s" }))).toMatchObject({
      status: 400,
      message: expect.stringMatching(/at least 1m/),
    });
    await root.write(`${mount}/static-roles/svc`, { username: user, rotation_period: "1m" });
    expect((await root.read(`${mount}/static-roles/svc`)).data).toMatchObject({ name: "svc", username: user, rotation_period: "1m0s" });
    expect((await root.list(`${mount}/static-roles`)).data).toEqual({ keys: ["svc"] });
    const first = await root.read(`${mount}/static-creds/svc`);
    expect(first.lease_id).toBe("");
    expect(first.data).toMatchObject({ access_key: expect.stringMatching(/^AKIA/), expiration: expect.any(String) });
    const sts = (c: { access_key: string; secret_key: string }) => clients(c.access_key, c.secret_key).sts.send(new GetCallerIdentityCommand({}));
    expect((await sts(first.data as never)).Arn).toMatch(new RegExp(`:user/${user}$`));
    // A token scoped to creds/deploy may not read static creds.
    expect(await failure(client(scopedToken).read(`${mount}/static-creds/svc`))).toMatchObject({ status: 403 });
    // The CLI through the server, with a token allowed just this role's creds and no passphrase.
    await root.write("sys/policies/acl/svc-creds", { policy: JSON.stringify({ path: { [`${mount}/static-creds/svc`]: { capabilities: ["read"] } } }) });
    // A fresh client: node-vault takes the token a create answers as its own.
    const token = (await client(rootToken).tokenCreate({ policies: ["svc-creds"], ttl: "1h" })).auth!.client_token;
    const ci = cliRunner({ mount, env: { AWSLEASE_ADDR: addr, AWSLEASE_TOKEN: token } });
    try {
      const viaCli = JSON.parse(await ok(ci.run(["static-creds", "svc", "--format", "json"], { env: { PULUMI_CONFIG_PASSPHRASE: undefined } })));
      expect(viaCli.data).toEqual(first.data);
      const refused = await ci.run(["static-role", "read", "svc"], { env: { PULUMI_CONFIG_PASSPHRASE: undefined } });
      expect(refused.code).toBe(1);
      expect(refused.stderr).toMatch(/permission denied/);
    } finally {
      ci.cleanup();
    }
    // The server's schedule rotates it after its minute (no CLI, no sweep); the old key still works (retired).
    const deadline = Date.now() + 120_000;
    let next = first;
    while (next.data!.access_key === first.data!.access_key) {
      if (Date.now() > deadline) throw new Error("the static role was not rotated on schedule");
      await new Promise((r) => setTimeout(r, 1_000));
      next = await root.read(`${mount}/static-creds/svc`);
    }
    expect((await sts(next.data as never)).Arn).toMatch(new RegExp(`:user/${user}$`));
    expect((await sts(first.data as never)).Arn).toMatch(new RegExp(`:user/${user}$`));
    await root.delete(`${mount}/static-roles/svc`);
    expect(await failure(root.list(`${mount}/static-roles`))).toMatchObject({ status: 404 });
    expect(await failure(root.read(`${mount}/static-creds/svc`))).toMatchObject({ status: 404 });
  });
});

describe("the audit log and shutdown", () => {
  it("has a line per request with the token's accessor, never a token or a secret", async () => {
    const lines = readFileSync(auditFile(), "utf8")
      .trim()
      .split("\n")
      .map((l) => JSON.parse(l));
    expect(lines.length).toBeGreaterThan(10);
    const creds = lines.find((l) => l.path === `${mount}/creds/deploy` && l.status === 200);
    expect(creds).toMatchObject({ operation: "read", display_name: "token-ci", lease_id: issued.lease_id });
    expect(creds.accessor).toMatch(/^[0-9A-Za-z]{24}$/);
    const text = readFileSync(auditFile(), "utf8");
    for (const secret of [rootToken, scopedToken, issued.data!.secret_key, moto().secretKey]) expect(text).not.toContain(secret);
  });

  it("disabling the mount revokes its leases; SIGTERM stops the server cleanly", async () => {
    const lease = await root.read(`${mount}/creds/other`);
    const username = lease.data!.arn.split("/").pop()!;
    expect(await userExists(username)).toBe(true);
    await root.unmount({ mount_point: mount });
    expect(await userExists(username)).toBe(false);
    expect(Object.keys(await root.mounts())).not.toContain(`${mount}/`);
    server.child.kill("SIGTERM");
    const result = await server.result;
    expect(result.code).toBe(0);
    expect(result.stderr).toContain("server stopped");
    for (const secret of [rootToken, scopedToken, moto().secretKey]) expect(result.stderr).not.toContain(secret);
  });
});
