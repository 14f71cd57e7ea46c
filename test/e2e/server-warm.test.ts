// The server's warm provider (service/pulumi/warmProvider.ts): engine runs attach to one
// long-running provider process. Against the real engine and moto: runs really go to it,
// a revoke after rotate-root reaches it with the new root key, another user's process
// is refused, and when it dies runs spawn their own provider until it is back.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { spawnSync } from "node:child_process";
import { AttachUserPolicyCommand, CreateAccessKeyCommand, CreateUserCommand } from "@aws-sdk/client-iam";
import { allowPolicy, cliRunner, configureMount, ok, rootClients, startServer, userExists, type Runner } from "../support/cli";
import { uniq } from "../support/aws";

const rootToken = `root-${uniq("warm")}-0123456789`;
let runner: Runner;
let server: Awaited<ReturnType<typeof startServer>>;

async function api(method: string, path: string, body?: unknown) {
  const res = await fetch(`${server.addr}/v1/${path}`, {
    method,
    headers: { "X-Vault-Token": rootToken, ...(body ? { "Content-Type": "application/json" } : {}) },
    body: body ? JSON.stringify(body) : undefined,
  });
  const text = await res.text();
  return { status: res.status, body: text ? JSON.parse(text) : undefined };
}

async function issue(): Promise<{ lease_id: string; data: { access_key: string; arn: string } }> {
  const r = await api("GET", "aws/creds/ci");
  if (r.status !== 200) throw new Error(`creds: ${r.status} ${JSON.stringify(r.body)}`);
  return r.body;
}

async function revoke(leaseId: string): Promise<void> {
  const r = await api("PUT", "sys/leases/revoke", { lease_id: leaseId });
  if (r.status !== 204) throw new Error(`revoke: ${r.status} ${JSON.stringify(r.body)}`);
}

/** The warm provider the server announced last: pid and port. */
function warm(): { pid: number; port: number } {
  const all = [...server.stderr().matchAll(/warm provider (?:back )?\(pid (\d+), 127\.0\.0\.1:(\d+)\)/g)];
  if (all.length === 0) throw new Error(`no warm provider announced:\n${server.stderr()}`);
  const last = all[all.length - 1];
  return { pid: Number(last[1]), port: Number(last[2]) };
}

/** A gRPC call to the provider with curl (HTTP/2 without TLS), optionally as another user; its grpc-status. */
function grpcStatus(port: number, asUid?: number): string | undefined {
  const args = [
    "-s",
    "--http2-prior-knowledge",
    "-X",
    "POST",
    "-H",
    "content-type: application/grpc",
    "-H",
    "te: trailers",
    "--data-binary",
    "@-",
    "-D",
    "-",
    "-o",
    "/dev/null",
  ];
  const url = `http://127.0.0.1:${port}/pulumirpc.ResourceProvider/GetPluginInfo`;
  // An empty message (google.protobuf.Empty): one gRPC frame header, uncompressed, length 0.
  const r = spawnSync("curl", [...args, url], { input: Buffer.alloc(5), ...(asUid === undefined ? {} : { uid: asUid, gid: asUid }) });
  if (r.error) throw r.error;
  return /grpc-status: (\d+)/.exec(r.stdout.toString())?.[1];
}

const settle = <T>(p: Promise<T>) => p.then(() => "settled").catch(() => "settled");

beforeAll(async () => {
  runner = cliRunner();
  // A dedicated admin user as the mount's root: rotate-root deletes its old key.
  const { iam } = rootClients();
  const admin = uniq("warmroot");
  await iam.send(new CreateUserCommand({ UserName: admin }));
  await iam.send(new AttachUserPolicyCommand({ UserName: admin, PolicyArn: "arn:aws:iam::aws:policy/AdministratorAccess" }));
  const key = await iam.send(new CreateAccessKeyCommand({ UserName: admin }));
  await ok(configureMount(runner, { accessKey: key.AccessKey!.AccessKeyId!, secretKey: key.AccessKey!.SecretAccessKey! }));
  await ok(runner.run(["role", "write", "ci", "--credential-type", "iam_user", "--policy-document", allowPolicy(["iam:GetUser"])]));
  server = await startServer(runner, ["--expiration-rescan", "1h", "--sweep-interval", "0"], { env: { AWSLEASE_ROOT_TOKEN: rootToken } });
});

afterAll(async () => {
  server?.start.child.kill("SIGTERM");
  await server?.start.result.catch(() => undefined);
  runner?.cleanup();
});

describe("the server's warm provider", () => {
  it("engine runs attach to it: while it is stopped an issue waits, and finishes once it runs again", async () => {
    const { pid } = warm();
    process.kill(pid, "SIGSTOP");
    let pending: Promise<Awaited<ReturnType<typeof issue>>>;
    try {
      pending = issue();
      // A spawned provider would have answered long before this.
      expect(await Promise.race([settle(pending), new Promise((r) => setTimeout(() => r("waiting"), 5_000))])).toBe("waiting");
    } finally {
      process.kill(pid, "SIGCONT");
    }
    const lease = await pending;
    expect(await userExists(lease.data.arn.split("/").pop() as string)).toBe(true);
    await revoke(lease.lease_id);
    expect(await userExists(lease.data.arn.split("/").pop() as string)).toBe(false);
    expect(warm().pid).toBe(pid);
  });

  it("a revoke after rotate-root reaches it with the new root key", async () => {
    const lease = await issue();
    const rotated = await api("POST", "aws/config/rotate-root");
    expect(rotated.status).toBe(200);
    await revoke(lease.lease_id);
    expect(await userExists(lease.data.arn.split("/").pop() as string)).toBe(false);
  });

  it("answers this user's processes and refuses any other user's", () => {
    const { port } = warm();
    expect(grpcStatus(port)).toBe("0");
    // Another uid needs root to switch to; CI runs as root.
    expect(process.getuid!(), "this test switches to another uid, which needs root").toBe(0);
    expect(grpcStatus(port, 65534)).toBe("7"); // PERMISSION_DENIED
  });

  it("killed, it is restarted, and issues keep working in the meantime (each run spawns a provider)", async () => {
    const before = warm();
    process.kill(before.pid, "SIGKILL");
    const meanwhile = await issue();
    const deadline = Date.now() + 60_000;
    while (warm().pid === before.pid) {
      if (Date.now() > deadline) throw new Error(`no restart:\n${server.stderr()}`);
      await new Promise((r) => setTimeout(r, 200));
    }
    expect(server.stderr()).toMatch(/warm provider exited \(SIGKILL\)/);
    const after = await issue();
    for (const l of [meanwhile, after]) {
      await revoke(l.lease_id);
      expect(await userExists(l.data.arn.split("/").pop() as string)).toBe(false);
    }
  });
});
