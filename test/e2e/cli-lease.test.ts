// `awslease lease list|lookup|renew|revoke` and `sweep` through the real engine against
// moto. The mount has a name of its own, so the sweep sees only this file's IAM users.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { CreateUserCommand, DeleteUserCommand, ListUsersCommand, ListUserTagsCommand } from "@aws-sdk/client-iam";
import { execFileSync } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { GetCallerIdentityCommand } from "@aws-sdk/client-sts";
import { clients, uniq, errorName } from "../support/aws";
import {
  allowPolicy,
  cliRunner,
  configureMount,
  errorLines,
  ok,
  rootClients,
  TAG_EXPIRES_AT,
  TAG_LEASE_ID,
  TAG_MOUNT,
  TAG_TABLE,
  tableId,
  taggedUsers,
  userExists,
  type Runner,
} from "../support/cli";

const mount = uniq("lm");
let runner: Runner;

interface Issued {
  lease_id: string;
  expires_at: string;
  data: { access_key: string; secret_key: string; arn: string };
}
const leases: Record<"alpha1" | "alpha2" | "beta" | "gamma", Issued> = {} as never;
const username = (l: Issued) => l.data.arn.split("/").pop()!;
let orphan: string;
let foreign: string;

async function listJson(args: string[] = []): Promise<Array<Record<string, unknown>>> {
  return JSON.parse(await ok(runner.run(["lease", "list", "--format", "json", ...args])));
}
const ids = (rows: Array<Record<string, unknown>>) => rows.map((r) => r.lease_id).sort();

beforeAll(async () => {
  runner = cliRunner({ mount });
  await ok(configureMount(runner));
  for (const role of ["alpha", "beta", "gamma"]) {
    await ok(runner.run(["role", "write", role, "--credential-type", "iam_user", "--policy-document", allowPolicy(["iam:ListUsers"])]));
  }
  const issue = async (role: string, ttl: string, wait = false): Promise<Issued> =>
    JSON.parse(await ok(runner.run(["issue", role, "--ttl", ttl, "--format", "json", "--quiet", ...(wait ? [] : ["--no-wait"])])));
  // gamma first: a 2 s lease (iam_user accepts any TTL; AWS enforces it through the deny policy).
  leases.gamma = await issue("gamma", "2s");
  leases.alpha1 = await issue("alpha", "1h", true);
  leases.alpha2 = await issue("alpha", "30m");
  leases.beta = await issue("beta", "1h");
  // An IAM user this mount tagged whose lease is not in the lease table (e.g. a process
  // killed mid-issue): its expiry tag is in the past.
  orphan = uniq("orphan");
  await rootClients().iam.send(
    new CreateUserCommand({
      UserName: orphan,
      Tags: [
        { Key: TAG_MOUNT, Value: mount },
        { Key: TAG_TABLE, Value: await tableId(runner) },
        { Key: TAG_LEASE_ID, Value: `${mount}/creds/x/NOPE` },
        { Key: TAG_EXPIRES_AT, Value: "2020-01-01T00:00:00Z" },
      ],
    }),
  );
  // The same, issued by another lease table (another AWSLEASE_HOME or backend) under the
  // same mount name on the same account: that table still lists it, so no sweep here may touch it.
  foreign = uniq("foreign");
  await rootClients().iam.send(
    new CreateUserCommand({
      UserName: foreign,
      Tags: [
        { Key: TAG_MOUNT, Value: mount },
        { Key: TAG_TABLE, Value: "00000000-0000-4000-8000-000000000000" },
        { Key: TAG_LEASE_ID, Value: `${mount}/creds/x/OtherTable` },
        { Key: TAG_EXPIRES_AT, Value: "2020-01-01T00:00:00Z" },
      ],
    }),
  );
  // Make sure gamma has expired (its TTL is 2 s; the other issues took longer, but be exact).
  const wait = Date.parse(leases.gamma.expires_at) + 1000 - Date.now();
  if (wait > 0) await new Promise((r) => setTimeout(r, wait));
});

afterAll(async () => {
  // Best effort: nothing of this file stays in moto.
  if (foreign)
    await rootClients()
      .iam.send(new DeleteUserCommand({ UserName: foreign }))
      .catch(() => undefined);
  await runner?.run(["lease", "revoke", "--prefix", `${mount}/`, "--quiet"]).catch(() => undefined);
  runner?.cleanup();
});

describe("lease list", () => {
  it("json: every lease with lease_id, role, credential_type, issued_at, expires_at, renewable", async () => {
    const rows = await listJson();
    expect(ids(rows)).toEqual(
      Object.values(leases)
        .map((l) => l.lease_id)
        .sort(),
    );
    for (const [name, lease] of Object.entries(leases)) {
      const row = rows.find((r) => r.lease_id === lease.lease_id)!;
      expect(row).toMatchObject({
        role: name.replace(/\d$/, ""),
        credential_type: "iam_user",
        mount,
        expires_at: lease.expires_at,
        renewable: true,
        username: username(lease),
        expired: name === "gamma",
      });
      expect(Date.parse(row.issued_at as string)).toBeLessThanOrEqual(Date.parse(lease.expires_at));
    }
    expect(rows.find((r) => r.lease_id === leases.alpha2.lease_id)!.lease_duration).toBe(1800);
  });

  it("table: a header and one row per lease, the expired one marked", async () => {
    const lines = (await ok(runner.run(["lease", "list"]))).trim().split("\n");
    expect(lines[0].split(/\s{2,}/)).toEqual(["LEASE ID", "ROLE", "TYPE", "ISSUED", "EXPIRES", "TTL", "RENEWABLE", "STATUS"]);
    expect(lines).toHaveLength(5);
    const gamma = lines.find((l) => l.startsWith(leases.gamma.lease_id))!;
    expect(gamma.split(/\s+/)).toEqual([leases.gamma.lease_id, "gamma", "iam_user", expect.any(String), leases.gamma.expires_at, "0s", "true", "expired"]);
    const beta = lines.find((l) => l.startsWith(leases.beta.lease_id))!;
    expect(beta.split(/\s+/).slice(-3)).toEqual([expect.stringMatching(/^[0-5]?\dm\d+s$/), "true", "active"]);
  });

  it("the table is read from the backend's files: no engine process, no passphrase needed beyond being set", async () => {
    const noEngine = { AWSLEASE_PULUMI: "/bin/false", PULUMI_CONFIG_PASSPHRASE: "not-needed-to-list" };
    const rows = JSON.parse(await ok(runner.run(["lease", "list", "--format", "json"], { env: noEngine })));
    expect(ids(rows)).toEqual(ids(await listJson()));
    expect(rows.length).toBe(4);
  });

  it("--prefix and --expired filter", async () => {
    expect(ids(await listJson(["--prefix", `${mount}/creds/alpha/`]))).toEqual([leases.alpha1.lease_id, leases.alpha2.lease_id].sort());
    expect(ids(await listJson(["--expired"]))).toEqual([leases.gamma.lease_id]);
    expect(await listJson(["--prefix", `${mount}/sts/`])).toEqual([]);
  });

  it("AWS enforces the expiry: the expired lease's key is denied, a live one is allowed", async () => {
    const expired = clients(leases.gamma.data.access_key, leases.gamma.data.secret_key);
    expect(await errorName(expired.iam.send(new ListUsersCommand({})))).toBe("AccessDenied");
    const live = clients(leases.alpha1.data.access_key, leases.alpha1.data.secret_key);
    expect(await errorName(live.iam.send(new ListUsersCommand({})))).toBe("no error");
  });
});

describe("lease lookup and renew", () => {
  it("lookup --format json: Vault's keys for one lease", async () => {
    const body = JSON.parse(await ok(runner.run(["lease", "lookup", leases.alpha1.lease_id, "--format", "json"])));
    expect(body).toMatchObject({
      id: leases.alpha1.lease_id,
      expire_time: leases.alpha1.expires_at,
      renewable: true,
      role: "alpha",
      credential_type: "iam_user",
      lease_duration: 3600,
      username: username(leases.alpha1),
      expired: false,
    });
    expect(body.ttl).toBeGreaterThan(3000);
    expect(body.ttl).toBeLessThanOrEqual(3600);
  });

  it("renew --increment 2h moves expires_at (in the lease table and on the IAM user)", async () => {
    const before = Date.now();
    const r = await runner.run(["lease", "renew", leases.alpha1.lease_id, "--increment", "2h", "--format", "json"]);
    expect(r.code).toBe(0);
    const body = JSON.parse(r.stdout);
    expect(body.id).toBe(leases.alpha1.lease_id);
    expect(body.expire_time).not.toBe(leases.alpha1.expires_at);
    const moved = Date.parse(body.expire_time);
    expect(moved).toBeGreaterThanOrEqual(Math.floor(before / 1000) * 1000 + 7200_000);
    expect(moved).toBeLessThanOrEqual(Date.now() + 7200_000);
    expect(body.lease_duration).toBe(7200);
    expect(r.stderr).toContain(`renewing ${leases.alpha1.lease_id}`);

    const row = (await listJson()).find((x) => x.lease_id === leases.alpha1.lease_id)!;
    expect(row.expires_at).toBe(body.expire_time);
    const tags = await rootClients().iam.send(new ListUserTagsCommand({ UserName: username(leases.alpha1) }));
    expect(tags.Tags?.find((t) => t.Key === TAG_EXPIRES_AT)?.Value).toBe(body.expire_time);
    // Same key, still valid.
    const me = await clients(leases.alpha1.data.access_key, leases.alpha1.data.secret_key).sts.send(new GetCallerIdentityCommand({}));
    expect(me.Arn).toBe(leases.alpha1.data.arn);
  });

  it("renew with a bad increment, or of an expired lease: exit 1, one line", async () => {
    const bad = await runner.run(["lease", "renew", leases.alpha2.lease_id, "--increment", "1x"]);
    expect(bad.code).toBe(1);
    expect(errorLines(bad.stderr)).toEqual([expect.stringMatching(/ttl|increment/)]);
    const expired = await runner.run(["lease", "renew", leases.gamma.lease_id]);
    expect(expired.code).toBe(1);
    expect(errorLines(expired.stderr)).toEqual([expect.stringMatching(/expired/)]);
  });
});

describe("sweep", () => {
  it("--dry-run lists the expired lease and the orphaned user and removes nothing", async () => {
    const r = await runner.run(["sweep", "--dry-run", "--format", "json"]);
    expect(r.code).toBe(0);
    expect(JSON.parse(r.stdout)).toEqual({
      dry_run: true,
      expired_leases: [leases.gamma.lease_id],
      abandoned_issues: [],
      orphaned_users: [orphan],
      // A dry run does not read the roles' revoked-session policies.
      pruned_denies: [],
      failures: [],
    });
    const table = await ok(runner.run(["sweep", "--dry-run"]));
    expect(table).toContain(`would revoke expired lease  ${leases.gamma.lease_id}`);
    expect(table).toContain(`would revoke orphaned user  ${orphan}`);
    expect(ids(await listJson())).toContain(leases.gamma.lease_id);
    expect(await userExists(username(leases.gamma))).toBe(true);
    expect(await userExists(orphan)).toBe(true);
  });

  it("revokes the expired lease and deletes the orphaned user; live leases stay", async () => {
    const r = await runner.run(["sweep"]);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain(`revoked expired lease  ${leases.gamma.lease_id}`);
    expect(r.stdout).toContain(`revoked orphaned user  ${orphan}`);
    expect(await userExists(username(leases.gamma))).toBe(false);
    expect(await userExists(orphan)).toBe(false);
    // Another lease table's user under the same mount name is not this table's orphan.
    expect(await userExists(foreign)).toBe(true);
    expect(r.stdout).not.toContain(foreign);
    expect(ids(await listJson())).toEqual([leases.alpha1.lease_id, leases.alpha2.lease_id, leases.beta.lease_id].sort());
    expect((await taggedUsers({ mount })).filter((u) => u !== foreign).sort()).toEqual(
      [username(leases.alpha1), username(leases.alpha2), username(leases.beta)].sort(),
    );
    expect(await ok(runner.run(["sweep"]))).toBe("Nothing to sweep.\n");
    await rootClients().iam.send(new DeleteUserCommand({ UserName: foreign }));
  });
});

describe("sweep spares users whose issue may still be running", () => {
  it("keeps a user whose lease stack exists without a record yet, and a young untracked user", async () => {
    const iam = rootClients().iam;
    const hourAgo = new Date(Date.now() - 3600_000).toISOString().replace(/\.\d{3}Z$/, "Z");
    const inHour = new Date(Date.now() + 3600_000).toISOString().replace(/\.\d{3}Z$/, "Z");
    // 1. An issue in progress: its stack exists (stack init runs before up) but has no
    //    outputs yet; its user is an hour old by its tag, so age alone would not save it.
    const key = "InProgress" + Math.random().toString(36).slice(2, 10);
    const running = uniq("running");
    await iam.send(
      new CreateUserCommand({
        UserName: running,
        Tags: [
          { Key: TAG_MOUNT, Value: mount },
          { Key: TAG_TABLE, Value: await tableId(runner) },
          { Key: TAG_LEASE_ID, Value: `${mount}/creds/alpha/${key}` },
          { Key: "awslease:issued-at", Value: hourAgo },
          { Key: TAG_EXPIRES_AT, Value: inHour },
        ],
      }),
    );
    const project = mkdtempSync(join(tmpdir(), "awslease-sweep-"));
    writeFileSync(join(project, "Pulumi.yaml"), "name: awslease\nruntime: nodejs\n");
    execFileSync("pulumi", ["stack", "init", `lease-${mount}-${key}`, "--no-select", "--non-interactive"], {
      cwd: project,
      env: { ...process.env, ...runner.env, PULUMI_BACKEND_URL: `file://${runner.home}/state`, PULUMI_HOME: join(project, "home") },
      stdio: "ignore",
    });
    // 2. A user tagged seconds ago whose stack is not (yet) visible: too young to judge.
    const young = uniq("young");
    await iam.send(
      new CreateUserCommand({
        UserName: young,
        Tags: [
          { Key: TAG_MOUNT, Value: mount },
          { Key: TAG_TABLE, Value: await tableId(runner) },
          { Key: TAG_LEASE_ID, Value: `${mount}/creds/alpha/NotYetVisible` },
          { Key: "awslease:issued-at", Value: new Date().toISOString().replace(/\.\d{3}Z$/, "Z") },
          { Key: TAG_EXPIRES_AT, Value: inHour },
        ],
      }),
    );
    try {
      const r = await runner.run(["sweep", "--format", "json"]);
      expect(r.code).toBe(0);
      expect(JSON.parse(r.stdout).orphaned_users).toEqual([]);
      expect(await userExists(running)).toBe(true);
      expect(await userExists(young)).toBe(true);
    } finally {
      await iam.send(new DeleteUserCommand({ UserName: running }));
      await iam.send(new DeleteUserCommand({ UserName: young }));
      // The stack of the "running" issue goes too: later tests expect an empty table.
      execFileSync("pulumi", ["stack", "rm", "--yes", "--stack", `lease-${mount}-${key}`, "--non-interactive"], {
        cwd: project,
        env: { ...process.env, ...runner.env, PULUMI_BACKEND_URL: `file://${runner.home}/state`, PULUMI_HOME: join(project, "home") },
        stdio: "ignore",
      });
      rmSync(project, { recursive: true, force: true });
    }
  });
});

describe("lease revoke --prefix", () => {
  it("revokes every matching lease and only those", async () => {
    const r = await runner.run(["lease", "revoke", "--prefix", `${mount}/creds/alpha/`]);
    expect(r.code).toBe(0);
    expect(r.stdout).toBe("");
    expect(r.stderr).toContain(`revoked ${leases.alpha1.lease_id}`);
    expect(r.stderr).toContain(`revoked ${leases.alpha2.lease_id}`);
    expect(ids(await listJson())).toEqual([leases.beta.lease_id]);
    expect(await userExists(username(leases.alpha1))).toBe(false);
    expect(await userExists(username(leases.alpha2))).toBe(false);
    expect(await userExists(username(leases.beta))).toBe(true);
  });

  it("the last lease revoked: the list is empty", async () => {
    await ok(runner.run(["lease", "revoke", leases.beta.lease_id]));
    expect(await ok(runner.run(["lease", "list"]))).toBe("No leases.\n");
    expect(await taggedUsers({ mount })).toEqual([]);
  });
});
