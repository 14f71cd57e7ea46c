// Two `awslease server`s on one S3 state backend (on moto): a lease issued on one is
// revoked on the other, both run expiration and each expired lease is revoked exactly
// once, and SIGTERM in the middle of an issue leaves nothing behind.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { CreateBucketCommand, S3Client } from "@aws-sdk/client-s3";
import { moto, uniq } from "../support/aws";
import { faultProxy } from "../support/faultProxy";
import { allowPolicy, cliRunner, ok, startServer as startShared, taggedUsers, userExists, type Runner } from "../support/cli";

const mount = uniq("two");
const bucket = uniq("awslease-srv");
const rootToken = `root-${uniq("tok")}-0123456789`;
let backend: string;
let runners: Runner[] = [];
const servers: Array<{ start: ReturnType<Runner["start"]>; addr: string; stderr: () => string }> = [];

async function startServer(runner: Runner, extra: string[] = []) {
  const server = await startShared(runner, ["--expiration-rescan", "1s", ...extra]);
  servers.push(server);
  return server;
}

async function api(addr: string, method: string, path: string, body?: unknown) {
  const res = await fetch(`${addr}/v1/${path}`, {
    method,
    headers: { "X-Vault-Token": rootToken, ...(body ? { "Content-Type": "application/json" } : {}) },
    body: body ? JSON.stringify(body) : undefined,
  });
  const text = await res.text();
  return { status: res.status, body: text ? JSON.parse(text) : undefined };
}

async function apiOk(addr: string, method: string, path: string, body?: unknown) {
  const r = await api(addr, method, path, body);
  if (r.status >= 300) throw new Error(`${method} ${path}: ${r.status} ${JSON.stringify(r.body)}`);
  return r.body;
}

async function until(check: () => Promise<boolean>, what: string, timeoutMs = 60_000) {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 500));
  }
}

beforeAll(async () => {
  const m = moto();
  const admin = new S3Client({
    endpoint: m.endpoint,
    region: m.region,
    forcePathStyle: true,
    credentials: { accessKeyId: m.accessKey, secretAccessKey: m.secretKey },
  });
  await admin.send(new CreateBucketCommand({ Bucket: bucket }));
  admin.destroy();
  backend = `s3://${bucket}?endpoint=${encodeURIComponent(m.endpoint)}&use_path_style=true&region=${m.region}`;
  const env = { AWS_ACCESS_KEY_ID: m.accessKey, AWS_SECRET_ACCESS_KEY: m.secretKey, AWSLEASE_ROOT_TOKEN: rootToken };
  runners = [cliRunner({ backend, mount, env }), cliRunner({ backend, mount, env }), cliRunner({ backend, mount, env })];
  // One after the other: the second finds the root token the first stored (only its hash) in the backend.
  await startServer(runners[0]);
  await startServer(runners[1]);
  const a = servers[0].addr;
  await apiOk(a, "POST", `sys/mounts/${mount}`, { type: "aws" });
  await apiOk(a, "POST", `${mount}/config/root`, {
    access_key: m.accessKey,
    secret_key: m.secretKey,
    region: m.region,
    iam_endpoint: m.endpoint,
    sts_endpoint: m.endpoint,
  });
  await apiOk(a, "POST", `${mount}/roles/ci`, { credential_type: "iam_user", policy_document: allowPolicy(["iam:ListUsers"]) });
}, 180_000);

afterAll(async () => {
  for (const s of servers) {
    if (s.start.child.exitCode === null) {
      s.start.child.kill("SIGTERM");
      await s.start.result.catch(() => undefined);
    }
  }
  for (const r of runners) r.cleanup();
});

describe("two servers on one S3 backend", () => {
  it("a lease issued on one is looked up and revoked on the other", async () => {
    const [a, b] = servers.map((s) => s.addr);
    const issued = await apiOk(a, "GET", `${mount}/creds/ci?ttl=1h`);
    const username = issued.data.arn.split("/").pop();
    expect((await apiOk(b, "PUT", "sys/leases/lookup", { lease_id: issued.lease_id })).data.id).toBe(issued.lease_id);
    expect((await api(b, "PUT", "sys/leases/revoke", { lease_id: issued.lease_id })).status).toBe(204);
    expect(await userExists(username)).toBe(false);
    expect((await api(a, "PUT", "sys/leases/lookup", { lease_id: issued.lease_id })).status).toBe(400);
  });

  it("both run expiration, and each expired lease is revoked exactly once", async () => {
    const [a, b] = servers.map((s) => s.addr);
    const leases: { lease_id: string; data: { arn: string } }[] = [];
    for (const addr of [a, b, a, b]) leases.push(await apiOk(addr, "POST", `${mount}/creds/ci`, { ttl: "5s" }));
    const users = leases.map((l) => l.data.arn.split("/").pop() as string);
    await until(async () => (await Promise.all(users.map(userExists))).every((e) => !e), "every expired lease's IAM user to go");
    await until(async () => JSON.parse(await ok(runners[2].run(["lease", "list", "--format", "json"]))).length === 0, "the lease table to empty");
    // A revoke logs its event after the stack is removed: wait for the events, then give
    // both servers two more rescans in which a second revoke would show.
    const revokedIn = (log: { lease_id: string; events: { event: string }[] }[], id: string) =>
      (log.find((h) => h.lease_id === id)?.events ?? []).filter((e) => e.event === "revoked").length;
    const readLog = async () => JSON.parse(await ok(runners[2].run(["lease", "log", "--format", "json"])));
    await until(async () => {
      const log = await readLog();
      return leases.every((l) => revokedIn(log, l.lease_id) > 0);
    }, "every lease's revoke in the lease log");
    await new Promise((r) => setTimeout(r, 2_500));
    const log = await readLog();
    for (const l of leases) {
      const history = log.find((h: { lease_id: string }) => h.lease_id === l.lease_id);
      const revokes = history.events.filter((e: { event: string }) => e.event === "revoked");
      expect(revokes, l.lease_id).toHaveLength(1);
      expect(revokes[0].by).toBe("expiration");
    }
    for (const s of servers) expect(s.stderr()).not.toMatch(/expiration: revoke of .* failed|irrevocable/);
  });

  it("SIGTERM during an issue (no grace): the issue is rolled back, nothing is left, the server exits 0", async () => {
    // The mount's IAM calls go through a proxy that holds CreateAccessKey, so the issue is
    // surely mid-Create when the signal comes (an issue takes well under a second).
    const proxy = await faultProxy(moto().endpoint);
    proxy.add({ action: "CreateAccessKey", fault: "delay", delayMs: 3_000 });
    await apiOk(servers[0].addr, "POST", `${mount}/config/root`, { iam_endpoint: proxy.url });
    const server = await startServer(runners[2], ["--shutdown-grace", "0s"]);
    const before = await taggedUsers({ mount, role: "ci" });
    const pending = api(server.addr, "POST", `${mount}/creds/ci`, { ttl: "1h" }).catch((err: Error) => ({ status: 0, body: { errors: [err.message] } }));
    await proxy.waitFor("CreateAccessKey", 30_000);
    server.start.child.kill("SIGTERM");
    proxy.clear();
    const answer = await pending;
    const result = await server.start.result;
    expect(result.code).toBe(0);
    expect(result.stderr).toContain("server stopped");
    // The engine run was cancelled mid-issue and rolled back.
    expect(answer, result.stderr).toEqual({ status: 500, body: { errors: ["issue failed: interrupted: the engine run was cancelled"] } });
    expect(await taggedUsers({ mount, role: "ci" })).toEqual(before);
    const list = await runners[0].run(["lease", "list", "--format", "json"]);
    expect(JSON.parse(await ok(list))).toEqual([]);
    expect(list.stderr).not.toMatch(/without a record/);
    await proxy.close();
  });
});
