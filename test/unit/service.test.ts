// The lease service (service/*) against an in-memory engine and lease table
// (support/memoryEngine.ts) and an in-memory IAM (support/fakeIam.ts): what each
// operation runs, what it leaves in the table when a step fails, and the clock-driven
// rules (expiry, renew, sweep ages, reuse windows), in milliseconds per case. The same
// paths run against the real engine and moto in test/e2e.
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { EngineError, ValidationError } from "../../provider/errors";
import { TAG_EXPIRES_AT, TAG_ISSUED_AT, TAG_LEASE_ID, TAG_MOUNT, TAG_TABLE } from "../../provider/aws/iamUser";
import { parseLeaseId } from "../../provider/names";
import { deleteRole, readMount, writeConfig, writeRole } from "../../service/mounts";
import { issue, list, lookup, renew, revoke, revokeByPrefix } from "../../service/leases";
import { sweep } from "../../service/sweep";
import { issueOrReuse } from "../../service/reuse";
import { leaseHistories, readLeaseEvents } from "../../service/leaseLog";
import { FakeIam } from "./support/fakeIam";
import { memoryContext, type MemoryEngine } from "./support/memoryEngine";
import type { ServiceContext } from "../../service/context";

const MINUTE = 60_000;
let iam: FakeIam;
let ctx: ServiceContext;
let engine: MemoryEngine;
let clock: { ms: number };

/** The IAM user an iam_user lease would have, tagged as the provider tags it. */
function tagUser(username: string, leaseId: string, expiresAt: string, issuedAt: string, tableId: string | undefined, mount = "aws") {
  iam.addUser(username, {
    tags: [
      { Key: TAG_MOUNT, Value: mount },
      { Key: TAG_TABLE, Value: tableId },
      { Key: TAG_LEASE_ID, Value: leaseId },
      { Key: TAG_ISSUED_AT, Value: issuedAt },
      { Key: TAG_EXPIRES_AT, Value: expiresAt },
    ],
    keys: ["AKIAKEY"],
  });
}

async function tableId(): Promise<string | undefined> {
  return (await readMount(ctx))?.config?.settings.tableId;
}

beforeEach(async () => {
  iam = new FakeIam();
  iam.pageSize = 100;
  ({ ctx, engine, clock } = memoryContext());
  engine.onCreate = (lease) => {
    if (lease.credentialType === "iam_user") {
      tagUser(lease.username!, lease.leaseId, lease.expiresAt, lease.issuedAt, engine.stacks.get("mount-aws")?.mount?.config?.settings.tableId);
    }
  };
  await writeConfig(ctx, { accessKey: "AKIAROOT", secretKey: "root-secret", region: "us-east-1", leaseSeconds: "1h" } as never);
  await writeRole(ctx, "deploy", { credentialType: "iam_user", policyArns: ["arn:aws:iam::aws:policy/ReadOnlyAccess"] } as never);
  await writeRole(ctx, "ops", { credentialType: "federation_token", policyArns: ["arn:aws:iam::aws:policy/ReadOnlyAccess"] } as never);
});

afterEach(() => iam.mock.restore());

describe("mounts", () => {
  it("config and roles merge into the control stack; a role of another mount is not there", async () => {
    const mount = await readMount(ctx);
    expect(mount?.config?.settings.region).toBe("us-east-1");
    expect(Object.keys(mount!.roles).sort()).toEqual(["deploy", "ops"]);
    await writeRole(ctx, "deploy", { iamTags: ["team=infra"] } as never);
    expect((await readMount(ctx))!.roles.deploy.settings).toMatchObject({ iamTags: { team: "infra" }, policyArns: ["arn:aws:iam::aws:policy/ReadOnlyAccess"] });
    expect(await readMount({ ...ctx, mount: "other" })).toBeUndefined();
  });

  it("bad input never reaches the engine", async () => {
    const before = engine.runs.length;
    await expect(writeRole(ctx, "bad", { credentialType: "iam_user", defaultStsTtl: "1h" } as never)).rejects.toThrow(ValidationError);
    await expect(deleteRole(ctx, "nope")).rejects.toThrow(/no such role "nope"/);
    expect(engine.runs.length).toBe(before);
  });

  it("a failed first apply removes the stack it created", async () => {
    engine.failing.set("applyMount", "iam:GetUser failed: AccessDenied");
    await expect(writeConfig({ ...ctx, mount: "fresh" }, { region: "us-east-1" } as never)).rejects.toThrow(
      "config write failed: iam:GetUser failed: AccessDenied",
    );
    expect(engine.runs).toContain("destroyStack mount-fresh");
  });
});

describe("issue", () => {
  it("records the lease (never its secret) in the table and the lease log", async () => {
    const { lease, region } = await issue(ctx, "deploy", { ttl: "30m" });
    expect(region).toBe("us-east-1");
    expect(lease.leaseId).toMatch(/^aws\/creds\/deploy\/[a-zA-Z0-9]{24}$/);
    const rec = await lookup(ctx, lease.leaseId);
    expect(rec).toMatchObject({ role: "deploy", mount: "aws", credentialType: "iam_user", leaseDuration: 1800, renewable: true });
    expect(JSON.stringify(rec)).not.toContain(lease.secretKey);
    const log = leaseHistories(await readLeaseEvents(ctx));
    expect(log.map((h) => [h.leaseId, h.events.map((e) => e.event)])).toEqual([[lease.leaseId, ["issued"]]]);
  });

  it("an unknown role leaves no stack (it was created beside the mount read)", async () => {
    await expect(issue(ctx, "nope", {})).rejects.toThrow(/no such role "nope" in mount "aws"/);
    expect(engine.runs.filter((r) => r.startsWith("initStack")).length).toBe(1);
    expect((await list(ctx)).records).toEqual([]);
    expect([...engine.stacks.keys()]).toEqual(["mount-aws"]);
  });

  it("an engine failure destroys what the stack holds and says what failed", async () => {
    engine.failing.set("upLease", "iam:CreateUser failed: LimitExceeded");
    const err = await issue(ctx, "deploy", {}).catch((e) => e);
    expect(err).toBeInstanceOf(EngineError);
    expect(err.message).toBe("issue failed: iam:CreateUser failed: LimitExceeded");
    expect(engine.runs.some((r) => r.startsWith("destroyStack lease-aws-"))).toBe(true);
    expect([...engine.stacks.keys()]).toEqual(["mount-aws"]);
  });

  it("a cleanup that fails too names the lease id to revoke", async () => {
    engine.failing.set("upLease", "interrupted");
    engine.failing.set("destroyStack", "backend unreachable");
    await expect(issue(ctx, "deploy", {})).rejects.toThrow(
      /issue failed: interrupted \(cleanup failed: revoke what it left with `awslease lease revoke aws\/creds\/deploy\/\w{24}`\)/,
    );
  });
});

describe("renew and revoke", () => {
  it("renew moves the expiry from now; an expired lease cannot be renewed", async () => {
    const { lease } = await issue(ctx, "deploy", { ttl: "30m" });
    clock.ms += 20 * MINUTE;
    const renewed = await renew(ctx, lease.leaseId, "45m");
    expect(Date.parse(renewed.expiresAt)).toBe(clock.ms + 45 * MINUTE);
    expect(renewed.accessKey).toBe(lease.accessKey);
    clock.ms += 46 * MINUTE;
    await expect(renew(ctx, lease.leaseId, undefined)).rejects.toThrow(/expired at .* and cannot be renewed/);
    await expect(renew(ctx, lease.leaseId, "-5m")).rejects.toThrow(ValidationError);
  });

  it("STS leases are not renewable, and revoking one with no recorded session warns that AWS keeps it valid", async () => {
    const { lease } = await issue(ctx, "ops", { ttl: "1h" });
    await expect(renew(ctx, lease.leaseId, "2h")).rejects.toThrow(/is not renewable \(federation_token\)/);
    const { outcome, warnings } = await revoke(ctx, lease.leaseId);
    expect(outcome).toBe("revoked");
    expect(warnings.join()).toMatch(/credentials stay valid until their AWS expiry at .*: the lease was issued before awslease recorded session ids/);
  });

  it("a failed revoke leaves the lease listed for a retry", async () => {
    const { lease } = await issue(ctx, "deploy", {});
    engine.failing.set("destroyStack", "iam:DeleteUser failed: ServiceFailure");
    await expect(revoke(ctx, lease.leaseId)).rejects.toThrow(
      `revoke of ${lease.leaseId} failed (the lease stays listed; retry): iam:DeleteUser failed: ServiceFailure`,
    );
    expect((await list(ctx)).records.map((r) => r.leaseId)).toEqual([lease.leaseId]);
    engine.failing.clear();
    expect((await revoke(ctx, lease.leaseId)).outcome).toBe("revoked");
    expect(engine.destroyed).toEqual([lease.leaseId]);
    expect((await list(ctx)).records).toEqual([]);
    await expect(revoke(ctx, lease.leaseId)).rejects.toThrow(/no such lease/);
    expect((await revoke(ctx, lease.leaseId, { ignoreMissing: true })).outcome).toBe("missing");
  });

  it("a lease stack another run holds is not revoked behind its back", async () => {
    const { lease } = await issue(ctx, "deploy", {});
    engine.stacks.get(`lease-aws-${parseLeaseId(lease.leaseId).key}`)!.locked = true;
    await expect(revoke(ctx, lease.leaseId)).rejects.toThrow(/the lease stays listed.*is locked/);
    expect((await list(ctx)).records[0]).toMatchObject({ leaseId: lease.leaseId, pending: true });
  });

  it("revoke --prefix revokes the matching leases directly in AWS, without an engine run each", async () => {
    const a = (await issue(ctx, "deploy", {})).lease;
    const b = (await issue(ctx, "deploy", {})).lease;
    const other = (await issue(ctx, "ops", {})).lease;
    expect(iam.users.has(a.username!) && iam.users.has(b.username!)).toBe(true);
    const { results } = await revokeByPrefix(ctx, "aws/creds/deploy/", {});
    expect(results.map((r) => r.outcome)).toEqual(["revoked", "revoked"]);
    expect(iam.users.has(a.username!) || iam.users.has(b.username!)).toBe(false);
    expect(engine.runs.filter((r) => r.startsWith("destroyStack"))).toEqual([]);
    expect((await list(ctx)).records.map((r) => r.leaseId)).toEqual([other.leaseId]);
  });
});

describe("list", () => {
  it("filters by prefix and expiry on the service's clock; an unknown mount is an error", async () => {
    const short = (await issue(ctx, "deploy", { ttl: "10m" })).lease;
    clock.ms += MINUTE;
    const long = (await issue(ctx, "deploy", { ttl: "2h" })).lease;
    const sts = (await issue(ctx, "ops", { ttl: "1h" })).lease;
    expect((await list(ctx)).records.map((r) => r.leaseId)).toEqual([short.leaseId, long.leaseId, sts.leaseId]);
    expect((await list(ctx, { prefix: "aws/sts/" })).records.map((r) => r.leaseId)).toEqual([sts.leaseId]);
    expect((await list(ctx, { expired: true })).records).toEqual([]);
    clock.ms += 15 * MINUTE;
    expect((await list(ctx, { expired: true })).records.map((r) => r.leaseId)).toEqual([short.leaseId]);
    await expect(list({ ...ctx, mount: "nope" })).rejects.toThrow(/no such mount "nope"/);
  });
});

describe("sweep", () => {
  it("revokes expired leases, cleans up unfinished issues, deletes old orphans; young ones and other tables are left", async () => {
    const expired = (await issue(ctx, "deploy", { ttl: "10m" })).lease;
    const live = (await issue(ctx, "deploy", { ttl: "2h" })).lease;
    const table = await tableId();
    const at = (ms: number) => new Date(ms).toISOString();
    // A user whose stack is gone (removed by hand), an hour old; one a minute old; one of another table.
    tagUser("orphan-old", "aws/creds/deploy/AAAAAAAAAAAAAAAAAAAAAAAA", at(clock.ms + 2 * 3600_000), at(clock.ms - 3600_000), table);
    tagUser("orphan-young", "aws/creds/deploy/BBBBBBBBBBBBBBBBBBBBBBBB", at(clock.ms + 2 * 3600_000), at(clock.ms + 29 * MINUTE), table);
    tagUser("foreign", "aws/creds/deploy/CCCCCCCCCCCCCCCCCCCCCCCC", at(clock.ms - 1), at(clock.ms - 3600_000), "another-table");
    // An issue killed after CreateUser: a stack without a record, and its tagged user.
    await engine.initStack("lease-aws-DDDDDDDDDDDDDDDDDDDDDDDD");
    tagUser("killed-issue", "aws/creds/deploy/DDDDDDDDDDDDDDDDDDDDDDDD", at(clock.ms + 3600_000), at(clock.ms), table);
    clock.ms += 30 * MINUTE;

    const dry = await sweep(ctx, { dryRun: true });
    expect(dry.expiredLeases).toEqual([expired.leaseId]);
    expect(iam.users.has(expired.username!)).toBe(true);

    const result = await sweep(ctx, { dryRun: false });
    expect(result).toEqual({
      expiredLeases: [expired.leaseId],
      abandonedIssues: ["lease-aws-DDDDDDDDDDDDDDDDDDDDDDDD (IAM user killed-issue)"],
      orphanedUsers: ["orphan-old"],
      prunedDenies: [],
      failures: [],
    });
    expect([...iam.users.keys()].sort()).toEqual(["foreign", live.username!, "orphan-young"].sort());
    expect((await list(ctx)).records.map((r) => r.leaseId)).toEqual([live.leaseId]);
    expect((await list(ctx)).unfinished).toEqual([]);
    const events = (await readLeaseEvents(ctx)).filter((e) => e.by === "sweep").map((e) => `${e.event} ${e.leaseId}`);
    expect(events.sort()).toEqual([`cleaned-up aws/creds/deploy/DDDDDDDDDDDDDDDDDDDDDDDD`, `revoked ${expired.leaseId}`].sort());
  });

  it("an AWS failure is a sweep failure, and the lease stays listed", async () => {
    const expired = (await issue(ctx, "deploy", { ttl: "10m" })).lease;
    clock.ms += 11 * MINUTE;
    iam.failing.set("DeleteUser", new Error("throttled"));
    const result = await sweep(ctx, { dryRun: false });
    expect(result.failures).toHaveLength(1);
    expect(result.failures[0]).toMatch(new RegExp(`^${expired.leaseId}: revoke of ${expired.leaseId} failed \\(the lease stays listed; retry\\)`));
    expect((await list(ctx)).records.map((r) => r.leaseId)).toEqual([expired.leaseId]);
  });
});

describe("reuse (credential-process)", () => {
  const opts = { refreshWindowSeconds: 15 * 60, by: "credential-process" as const };

  it("hands out the same lease while it has more than the window left, then replaces and revokes it", async () => {
    const first = await issueOrReuse(ctx, "deploy", { ttl: "1h" }, opts);
    expect(first.reused).toBe(false);
    clock.ms += 30 * MINUTE;
    const again = await issueOrReuse(ctx, "deploy", { ttl: "1h" }, opts);
    expect(again).toMatchObject({ reused: true, replaced: [] });
    expect(again.lease.leaseId).toBe(first.lease.leaseId);
    expect(again.lease.secretKey).toBe(first.lease.secretKey);
    expect(again.lease.leaseDuration).toBe(30 * 60);
    expect(engine.runs.filter((r) => r.startsWith("upLease"))).toHaveLength(1);
    // A session name is its own reuse key.
    const other = await issueOrReuse(ctx, "deploy", { ttl: "1h" }, { ...opts, session: "laptop" });
    expect(other.lease.leaseId).not.toBe(first.lease.leaseId);

    clock.ms += 20 * MINUTE; // 10 minutes left: inside the window
    const next = await issueOrReuse(ctx, "deploy", { ttl: "1h" }, opts);
    expect(next.reused).toBe(false);
    expect(next.replaced).toEqual([first.lease.leaseId]);
    expect(iam.users.has(first.lease.username!)).toBe(false);
    expect((await list(ctx)).records.map((r) => r.leaseId).sort()).toEqual([other.lease.leaseId, next.lease.leaseId].sort());
  });

  it("a TTL not longer than the window is refused before anything is issued", async () => {
    await expect(issueOrReuse(ctx, "deploy", { ttl: "10m" }, opts)).rejects.toThrow(/is not longer than the refresh window 15m/);
    expect(engine.runs.some((r) => r.startsWith("initStack"))).toBe(false);
  });
});
