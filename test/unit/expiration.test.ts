// The server's expiration manager (service/expiration.ts) on the in-memory engine and
// IAM: leases are revoked at their expiry without a sweep, failures are retried and
// then marked irrevocable, and two managers on one table revoke each lease once.
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { writeConfig, writeRole } from "../../service/mounts";
import { issue, list, lookup, revoke } from "../../service/leases";
import { readLeaseEvents } from "../../service/leaseLog";
import { ExpirationManager } from "../../service/expiration";
import { TAG_EXPIRES_AT, TAG_ISSUED_AT, TAG_LEASE_ID, TAG_MOUNT, TAG_TABLE } from "../../provider/aws/iamUser";
import { FakeIam } from "./support/fakeIam";
import { memoryContext, type MemoryEngine } from "./support/memoryEngine";
import type { ServiceContext } from "../../service/context";

let iam: FakeIam;
let ctx: ServiceContext;
let engine: MemoryEngine;
let clock: { ms: number };
const managers: ExpirationManager[] = [];

async function until(check: () => Promise<boolean> | boolean, what: string, timeoutMs = 5000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

function manager(opts: ConstructorParameters<typeof ExpirationManager>[1] = {}): ExpirationManager {
  const m = new ExpirationManager(ctx, { rescanMs: 20, sweepMs: 0, ...opts });
  managers.push(m);
  m.start();
  return m;
}

beforeEach(async () => {
  iam = new FakeIam();
  iam.pageSize = 100;
  ({ ctx, engine, clock } = memoryContext());
  engine.onCreate = (lease) => {
    const tableId = engine.stacks.get("mount-aws")?.mount?.config?.settings.tableId;
    iam.addUser(lease.username!, {
      tags: [
        { Key: TAG_MOUNT, Value: "aws" },
        { Key: TAG_TABLE, Value: tableId },
        { Key: TAG_LEASE_ID, Value: lease.leaseId },
        { Key: TAG_ISSUED_AT, Value: lease.issuedAt },
        { Key: TAG_EXPIRES_AT, Value: lease.expiresAt },
      ],
    });
  };
  await writeConfig(ctx, { accessKey: "AKIAROOT", secretKey: "root-secret", region: "us-east-1" } as never);
  await writeRole(ctx, "deploy", { credentialType: "iam_user", policyArns: ["arn:aws:iam::aws:policy/ReadOnlyAccess"] } as never);
});

afterEach(async () => {
  await Promise.all(managers.splice(0).map((m) => m.stop()));
  iam.mock.restore();
});

describe("the expiration manager", () => {
  it("revokes a lease at its expiry, and not before", async () => {
    const short = (await issue(ctx, "deploy", { ttl: "10m" })).lease;
    const long = (await issue(ctx, "deploy", { ttl: "2h" })).lease;
    const m = manager();
    await until(async () => m.pending().length === 0 && (await list(ctx)).records.length === 2, "the first rescan");
    await new Promise((r) => setTimeout(r, 100));
    expect(iam.users.has(short.username!)).toBe(true);
    clock.ms += 10 * 60_000 + 1;
    await until(() => !iam.users.has(short.username!), "the expired lease's user to go");
    await until(async () => (await list(ctx)).records.length === 1, "the lease to leave the table");
    expect((await list(ctx)).records.map((r) => r.leaseId)).toEqual([long.leaseId]);
    expect(iam.users.has(long.username!)).toBe(true);
    const events = (await readLeaseEvents(ctx)).filter((e) => e.event === "revoked");
    expect(events.map((e) => [e.leaseId, e.by])).toEqual([[short.leaseId, "expiration"]]);
    expect(m.counts).toMatchObject({ revoked: 1, irrevocable: 0 });
  });

  it("retries a failing revoke with backoff, then marks the lease irrevocable; lease revoke clears the mark", async () => {
    const lease = (await issue(ctx, "deploy", { ttl: "10m" })).lease;
    iam.failing.set("DeleteUser", Object.assign(new Error("internal failure"), { name: "ServiceFailure" }));
    clock.ms += 11 * 60_000;
    const m = manager({ retryBaseMs: 1, maxAttempts: 6 });
    await until(() => m.counts.irrevocable === 1, "the lease to be given up");
    expect(m.counts.failedAttempts).toBe(6);
    const [rec] = (await list(ctx)).records;
    expect(rec).toMatchObject({ leaseId: lease.leaseId });
    expect(rec.irrevocable).toMatch(/iam:DeleteUser failed/);
    expect((await lookup(ctx, lease.leaseId)).irrevocable).toMatch(/iam:DeleteUser failed/);
    await until(async () => (await readLeaseEvents(ctx)).some((e) => e.event === "irrevocable"), "the irrevocable event");
    // Marked leases are left alone by later rescans.
    await new Promise((r) => setTimeout(r, 100));
    expect(m.counts.failedAttempts).toBe(6);
    iam.failing.clear();
    expect((await revoke(ctx, lease.leaseId)).outcome).toBe("revoked");
    expect((await list(ctx)).records).toEqual([]);
    const { store, dir } = await ctx.store.files("irrevocable", "aws");
    expect(await store.list(dir)).toEqual([]);
  });

  it("two managers on one lease table revoke each lease exactly once", async () => {
    const leases = [];
    for (let i = 0; i < 5; i++) leases.push((await issue(ctx, "deploy", { ttl: "10m" })).lease);
    clock.ms += 11 * 60_000;
    const a = manager();
    const b = manager();
    await until(async () => (await list(ctx)).records.length === 0, "every lease to be revoked");
    await new Promise((r) => setTimeout(r, 100));
    const revoked = (await readLeaseEvents(ctx)).filter((e) => e.event === "revoked").map((e) => e.leaseId);
    expect(revoked.sort()).toEqual(leases.map((l) => l.leaseId).sort());
    expect(a.counts.revoked + b.counts.revoked).toBe(5);
    expect(a.counts.failedAttempts + b.counts.failedAttempts).toBe(0);
    for (const l of leases) expect(iam.users.has(l.username!)).toBe(false);
  });

  it("a lease renewed before its expiry is revoked at its new expiry, not the old one", async () => {
    const lease = (await issue(ctx, "deploy", { ttl: "10m" })).lease;
    clock.ms += 9 * 60_000;
    const { renew } = await import("../../service/leases");
    await renew(ctx, lease.leaseId, "1h");
    clock.ms += 2 * 60_000;
    const m = manager();
    await new Promise((r) => setTimeout(r, 150));
    expect((await list(ctx)).records.map((r) => r.leaseId)).toEqual([lease.leaseId]);
    expect(m.counts.revoked).toBe(0);
    clock.ms += 60 * 60_000;
    await until(async () => (await list(ctx)).records.length === 0, "the renewed lease to expire");
    expect(m.counts.revoked).toBe(1);
  });
});
