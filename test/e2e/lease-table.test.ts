// The lease table at scale, through the real CLI and engine against moto: two mounts
// whose names share a prefix in one backend, a lease mid-issue and one mid-revoke from
// other processes while the table is read, the lease log, and credential_process
// reuse with the real AWS CLI (`python3 -m awscli`, installed by setup).
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { execFile, execFileSync } from "node:child_process";
import { mkdtempSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { moto, uniq } from "../support/aws";
import { faultProxy, type FaultProxy } from "../support/faultProxy";
import { allowPolicy, cliEntry, cliRunner, configWriteArgs, filesContaining, ok, taggedUsers, userExists, type Runner } from "../support/cli";

const mountA = uniq("tbl");
/** Shares mountA's name as a prefix: its stacks are `lease-<mountA>-x-...`. */
const mountB = `${mountA}-x`;
let runner: Runner;
let proxy: FaultProxy;
const secrets: string[] = [];

interface Issued {
  lease_id: string;
  data: { access_key: string; secret_key: string; arn: string };
}

interface Row {
  lease_id: string;
  status: string;
  ttl: number;
}

async function issue(mount: string, extra: string[] = []): Promise<Issued> {
  const lease = JSON.parse(await ok(runner.run(["issue", "ci", "--mount", mount, "--format", "json", "--quiet", "--no-wait", ...extra]))) as Issued;
  secrets.push(lease.data.secret_key);
  return lease;
}

async function rows(mount: string): Promise<Row[]> {
  return JSON.parse(await ok(runner.run(["lease", "list", "--mount", mount, "--format", "json"])));
}

/** A directory with a Pulumi.yaml of the awslease project, for running pulumi itself. */
function projectDir(): string {
  const dir = mkdtempSync(join(tmpdir(), "awslease-project-"));
  writeFileSync(join(dir, "Pulumi.yaml"), "name: awslease\nruntime: nodejs\n");
  return dir;
}

const ids = (rs: { lease_id: string }[]) => rs.map((r) => r.lease_id).sort();

interface LogRow {
  lease_id: string;
  revoked_at: string | null;
  revoked_by: string | null;
  username: string | null;
  events: { event: string; by: string }[];
}

async function leaseLog(mount: string): Promise<LogRow[]> {
  return JSON.parse(await ok(runner.run(["lease", "log", "--mount", mount, "--format", "json"])));
}

beforeAll(async () => {
  proxy = await faultProxy(moto().endpoint);
  runner = cliRunner();
  const m = moto();
  // Mount A's AWS calls go through the fault proxy (to hold an issue or a revoke mid-way); B's straight to moto.
  for (const [mount, endpoint] of [
    [mountA, proxy.url],
    [mountB, m.endpoint],
  ]) {
    await ok(runner.run([...configWriteArgs(m.accessKey, endpoint), "--mount", mount], { stdin: `${m.secretKey}\n` }));
    await ok(runner.run(["role", "write", "ci", "--mount", mount, "--credential-type", "iam_user", "--policy-document", allowPolicy(["iam:ListUsers"])]));
  }
});

afterAll(async () => {
  for (const mount of [mountA, mountB]) await runner?.run(["lease", "revoke", "--mount", mount, "--prefix", `${mount}/`, "--quiet"]).catch(() => undefined);
  await proxy?.close();
  runner?.cleanup();
});

describe("two mounts whose names share a prefix, with a lease mid-issue and one mid-revoke", () => {
  let a1: Issued;
  let a2: Issued;
  let b1: Issued;
  let a3: Issued;

  it("each mount lists its own leases only; running operations show as pending", async () => {
    [a1, a2, b1] = [await issue(mountA), await issue(mountA), await issue(mountB)];
    expect(ids(await rows(mountA))).toEqual(ids([a1, a2]));
    expect(ids(await rows(mountB))).toEqual([b1.lease_id]);

    // Another process issues on A, held at CreateAccessKey; a third revokes a2, held at DeleteUser.
    proxy.add({ action: "CreateAccessKey", fault: "delay", delayMs: 8000 });
    proxy.add({ action: "DeleteUser", fault: "delay", delayMs: 8000 });
    const issuing = runner.start(["issue", "ci", "--mount", mountA, "--format", "json", "--quiet", "--no-wait"]);
    const revoking = runner.start(["lease", "revoke", a2.lease_id, "--mount", mountA]);
    await Promise.all([proxy.waitFor("CreateAccessKey"), proxy.waitFor("DeleteUser")]);

    // JSON: the leases with a record; a2's stack is held by its revoke.
    const during = await rows(mountA);
    expect(ids(during)).toEqual(ids([a1, a2]));
    expect(during.find((r) => r.lease_id === a1.lease_id)!.status).toBe("active");
    expect(during.find((r) => r.lease_id === a2.lease_id)!.status).toBe("pending");
    // The table also shows the issue running now, as pending.
    const table = (await ok(runner.run(["lease", "list", "--mount", mountA]))).trim().split("\n");
    expect(table).toHaveLength(4);
    expect(table.filter((l) => new RegExp(`^${mountA}/\\?/\\S+ .* pending$`).test(l))).toHaveLength(1);
    // Mount B is not confused with A: same prefix, its own table.
    expect(ids(await rows(mountB))).toEqual([b1.lease_id]);
    expect((await ok(runner.run(["lease", "list", "--mount", mountB]))).trim().split("\n")).toHaveLength(2);
    // A sweep now leaves the running issue alone (its stack is locked by a live run).
    const dry = await ok(runner.run(["sweep", "--mount", mountA, "--dry-run", "--min-age", "0s", "--format", "json"]));
    expect(JSON.parse(dry)).toMatchObject({ abandoned_issues: [], expired_leases: [], orphaned_users: [] });

    const [issued, revoked] = await Promise.all([issuing.result, revoking.result]);
    expect(issued.code, issued.stderr).toBe(0);
    expect(revoked.code, revoked.stderr).toBe(0);
    a3 = JSON.parse(issued.stdout);
    secrets.push(a3.data.secret_key);
    proxy.reset();

    const after = await rows(mountA);
    expect(ids(after)).toEqual(ids([a1, a3]));
    expect(after.every((r) => r.status === "active")).toBe(true);
    expect(await userExists(a2.data.arn.split("/").pop()!)).toBe(false);
  });

  it("sweep and revoke --prefix of A leave B's leases and users alone", async () => {
    const expiring = await issue(mountA, ["--ttl", "1s"]);
    await new Promise((r) => setTimeout(r, 1500));
    const sweep = await runner.run(["sweep", "--mount", mountA, "--min-age", "0s"]);
    expect(sweep.code, sweep.stderr).toBe(0);
    expect(await userExists(expiring.data.arn.split("/").pop()!)).toBe(false);

    const r = await runner.run(["lease", "revoke", "--mount", mountA, "--prefix", `${mountA}/creds/`]);
    expect(r.code, r.stderr).toBe(0);
    expect(await rows(mountA)).toEqual([]);
    expect(ids(await rows(mountB))).toEqual([b1.lease_id]);
    expect(await taggedUsers({ mount: mountA })).toEqual([]);
    expect(await taggedUsers({ mount: mountB })).toEqual([b1.data.arn.split("/").pop()]);

    // The lease log of A has every lease from issue to revoke, and who revoked it.
    const log = await leaseLog(mountA);
    const byId = new Map(log.map((l) => [l.lease_id, l]));
    expect([...byId.keys()].sort()).toEqual(ids([a1, a2, a3, expiring]));
    expect(byId.get(a2.lease_id)).toMatchObject({ revoked_by: "cli", username: a2.data.arn.split("/").pop() });
    expect(byId.get(expiring.lease_id)!.revoked_by).toBe("sweep");
    for (const l of log) {
      expect(l.revoked_at).not.toBeNull();
      expect(l.events.map((e) => e.event)).toEqual(["issued", "revoked"]);
    }
    // B's log has only B's lease, not yet revoked.
    expect((await leaseLog(mountB)).map((l) => [l.lease_id, l.revoked_at])).toEqual([[b1.lease_id, null]]);
    // The text table too.
    const text = await ok(runner.run(["lease", "log", "--mount", mountA]));
    expect(text.split("\n")[0]).toMatch(/^LEASE ID\s+ROLE\s+TYPE\s+IAM USER \/ SESSION\s+ISSUED\s+EXPIRES\s+REVOKED\s+BY$/);
  });
});

/** `python3 -m awscli ARGS` with the profile's config file; awslease runs as its credential_process. */
function awsCli(config: string, args: string[], profile: string): Promise<{ code: number; stdout: string; stderr: string }> {
  const m = moto();
  const env: Record<string, string> = {
    ...runner.env,
    AWS_CONFIG_FILE: config,
    AWS_SHARED_CREDENTIALS_FILE: join(runner.home, "no-credentials"),
    AWS_PROFILE: profile,
    AWS_ENDPOINT_URL: m.endpoint,
    AWS_DEFAULT_REGION: m.region,
    AWSLEASE_MOUNT: mountB,
  };
  return new Promise((resolve) => {
    execFile("python3", ["-m", "awscli", ...args, "--output", "json"], { env, timeout: 120_000 }, (err, stdout, stderr) =>
      resolve({ code: err ? ((err as { code?: number }).code ?? 1) : 0, stdout: String(stdout), stderr: String(stderr) }),
    );
  });
}

describe("credential_process with the real AWS CLI", () => {
  const config = () => join(runner.home, "aws-config");
  const command = (extra: string) => `${process.execPath} ${cliEntry} credential-process ci --ttl 1h --quiet ${extra}`;

  beforeAll(() => {
    writeFileSync(
      config(),
      [
        "[profile lease]",
        `credential_process = ${command("--session cli-test")}`,
        // Everything less than 59m59s from expiry is replaced: the next call issues anew.
        "[profile replace]",
        `credential_process = ${command("--session cli-test --refresh-window 3599s")}`,
        "[profile short]",
        `credential_process = ${process.execPath} ${cliEntry} credential-process ci --ttl 10m`,
        "",
      ].join("\n"),
    );
  });

  it("two calls issue one lease: the second reuses it", async () => {
    const before = (await rows(mountB)).length;
    const first = await awsCli(config(), ["sts", "get-caller-identity"], "lease");
    expect(first.code, first.stderr).toBe(0);
    const second = await awsCli(config(), ["sts", "get-caller-identity"], "lease");
    expect(second.code, second.stderr).toBe(0);
    const arn = JSON.parse(first.stdout).Arn as string;
    expect(arn).toMatch(/:user\/awslease-/);
    expect(JSON.parse(second.stdout).Arn).toBe(arn);
    expect(await rows(mountB)).toHaveLength(before + 1);
    const issued = (await leaseLog(mountB)).filter((l) => l.username === arn.split("/").pop());
    expect(issued).toHaveLength(1);
    expect(issued[0].events).toEqual([expect.objectContaining({ event: "issued", by: "credential-process" })]);
  });

  it("a lease inside the refresh window is replaced, and the replaced IAM user deleted", async () => {
    const first = JSON.parse((await awsCli(config(), ["sts", "get-caller-identity"], "lease")).stdout).Arn as string;
    await new Promise((r) => setTimeout(r, 1500));
    const replaced = await awsCli(config(), ["sts", "get-caller-identity"], "replace");
    expect(replaced.code, replaced.stderr).toBe(0);
    const next = JSON.parse(replaced.stdout).Arn as string;
    expect(next).not.toBe(first);
    expect(await userExists(first.split("/").pop()!)).toBe(false);
    const log = new Map((await leaseLog(mountB)).map((l) => [l.username, l]));
    expect(log.get(first.split("/").pop()!)).toMatchObject({ revoked_by: "credential-process" });
    // The plain profile now reuses the replacement.
    expect(JSON.parse((await awsCli(config(), ["sts", "get-caller-identity"], "lease")).stdout).Arn).toBe(next);
    // Revoked by hand: the next call notices (its pointer names a lease that is gone) and issues anew.
    const row = (JSON.parse(await ok(runner.run(["lease", "list", "--mount", mountB, "--format", "json"]))) as { lease_id: string; username: string }[]).find(
      (r) => r.username === next.split("/").pop(),
    )!;
    await ok(runner.run(["lease", "revoke", row.lease_id, "--mount", mountB, "--quiet"]));
    const after = await awsCli(config(), ["sts", "get-caller-identity"], "lease");
    expect(after.code, after.stderr).toBe(0);
    expect(JSON.parse(after.stdout).Arn).not.toBe(next);
  });

  it("credentials handed out again are decrypted in-process exactly as pulumi decrypts them", async () => {
    const first = JSON.parse(
      await ok(runner.run(["credential-process", "ci", "--mount", mountB, "--ttl", "1h", "--session", "decrypt", "--quiet", "--no-wait"])),
    );
    const again = JSON.parse(await ok(runner.run(["credential-process", "ci", "--mount", mountB, "--ttl", "1h", "--session", "decrypt", "--quiet"])));
    expect(again).toEqual(first);
    secrets.push(first.SecretAccessKey);
    // The stack that holds it, read by the real engine.
    const stacks = readdirSync(join(runner.home, "state", ".pulumi", "stacks", "awslease")).filter(
      (f) => f.startsWith(`lease-${mountB}-`) && f.endsWith(".json"),
    );
    const project = projectDir();
    const outputs = stacks.map((f) =>
      JSON.parse(
        execFileSync("pulumi", ["stack", "output", "--json", "--show-secrets", "--stack", f.replace(/\.json$/, ""), "--non-interactive"], {
          cwd: project,
          env: { ...process.env, ...runner.env, PULUMI_BACKEND_URL: `file://${runner.home}/state`, PULUMI_HOME: join(runner.home, "pulumi") },
        }).toString(),
      ),
    );
    rmSync(project, { recursive: true, force: true });
    const held = outputs.find((o) => o.credentials?.accessKey === first.AccessKeyId);
    expect(held.credentials).toMatchObject({ accessKey: first.AccessKeyId, secretKey: first.SecretAccessKey, region: moto().region });
    // With the wrong passphrase nothing is handed out (and nothing decrypted).
    const wrong = await runner.run(["credential-process", "ci", "--mount", mountB, "--ttl", "1h", "--session", "decrypt", "--quiet"], {
      env: { PULUMI_CONFIG_PASSPHRASE: "wrong" },
    });
    expect(wrong.code).not.toBe(0);
    expect(wrong.stdout).toBe("");
  });

  it("three calls at once on one machine share one new lease", async () => {
    const before = (await rows(mountB)).length;
    const calls = await Promise.all(
      [1, 2, 3].map(() => runner.run(["credential-process", "ci", "--mount", mountB, "--ttl", "1h", "--session", "parallel", "--quiet", "--no-wait"])),
    );
    for (const c of calls) expect(c.code, c.stderr).toBe(0);
    expect(new Set(calls.map((c) => JSON.parse(c.stdout).AccessKeyId)).size).toBe(1);
    expect(await rows(mountB)).toHaveLength(before + 1);
  });

  it("issue --reuse shares the lease with credential-process by session; another session gets its own", async () => {
    const same = JSON.parse(
      await ok(runner.run(["issue", "ci", "--mount", mountB, "--reuse", "--session", "cli-test", "--ttl", "1h", "--format", "json", "--quiet"])),
    );
    const byProcess = JSON.parse((await awsCli(config(), ["sts", "get-caller-identity"], "lease")).stdout).Arn as string;
    expect(same.data.arn).toBe(byProcess);
    const other = JSON.parse(
      await ok(runner.run(["issue", "ci", "--mount", mountB, "--reuse", "--session", "other", "--ttl", "1h", "--format", "json", "--quiet"])),
    );
    expect(other.data.arn).not.toBe(byProcess);
    secrets.push(same.data.secret_key, other.data.secret_key);
  });

  it("a TTL at or under the refresh window is refused: exit 1, one line, nothing issued", async () => {
    const before = await rows(mountB);
    const r = await runner.run(["credential-process", "ci", "--mount", mountB, "--ttl", "10m"]);
    expect(r.code).toBe(1);
    expect(r.stdout).toBe("");
    expect(r.stderr.trim().split("\n")).toEqual([
      "awslease: error: ttl: --ttl 10m0s is not longer than the refresh window 15m0s: every call would issue a new lease; use a longer --ttl or a shorter --refresh-window",
    ]);
    // Through the AWS CLI it fails the call too.
    const viaCli = await awsCli(config(), ["sts", "get-caller-identity"], "short");
    expect(viaCli.code).not.toBe(0);
    expect(ids(await rows(mountB))).toEqual(ids(before));
    const flag = await runner.run(["issue", "ci", "--mount", mountB, "--session", "x"]);
    expect(flag.code).toBe(1);
    expect(flag.stderr).toContain("--session: only goes with --reuse");
  });
});

describe("last: no secret in plaintext", () => {
  it("not in the state, the lease log, or anywhere else under AWSLEASE_HOME", async () => {
    expect(secrets.length).toBeGreaterThanOrEqual(8);
    expect(filesContaining(runner.home, [moto().secretKey, ...secrets])).toEqual([]);
  });
});
