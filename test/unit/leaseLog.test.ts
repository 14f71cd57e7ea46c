// The lease log (append-only event files) and the directory store under it.
import { afterEach, describe, expect, it } from "vitest";
import { mkdtempSync, readdirSync, rmSync, statSync, writeFileSync, mkdirSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { appendLeaseEvents, leaseHistories, logLeaseEvents, readLeaseEvents, type LeaseEvent } from "../../service/leaseLog";
import { backendStore, directoryStore } from "../../service/store/backendStore";
import { formatLeaseLog } from "../../cli/output";
import { serviceContext, type ServiceContext } from "../../service/context";

const dirs: string[] = [];
function tempDir(): string {
  const d = mkdtempSync(join(tmpdir(), "awslease-log-"));
  dirs.push(d);
  return d;
}
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

/** A file backend in the project layout, as pulumi leaves it. */
function fileBackend(): { ctx: ServiceContext; root: string } {
  const root = tempDir();
  mkdirSync(join(root, ".pulumi"), { recursive: true });
  writeFileSync(join(root, ".pulumi", "meta.yaml"), "version: 1\n");
  const ctx = serviceContext({ home: tempDir(), backend: `file://${root}`, mount: "aws", quiet: true });
  return { ctx, root };
}

const issued = (id: string) => ({
  event: "issued" as const,
  leaseId: `aws/creds/ci/${id}`,
  by: "cli" as const,
  role: "ci",
  credentialType: "iam_user",
  username: `user-${id}`,
  issuedAt: "2026-12-01T00:00:00Z",
  expiresAt: "2026-12-01T01:00:00Z",
});

describe("lease log", () => {
  it("appends one owner-only file per event in the backend, never rewriting one", async () => {
    const { ctx, root } = fileBackend();
    await appendLeaseEvents(ctx, [issued("a"), issued("b")]);
    await appendLeaseEvents(ctx, [{ event: "revoked", leaseId: "aws/creds/ci/a", by: "sweep" }]);
    const dir = join(root, ".awslease", "lease-log", "aws");
    const files = readdirSync(dir);
    expect(files).toHaveLength(3);
    for (const f of files) {
      expect(f).toMatch(/^\d{8}T\d{9}Z-(issued|revoked)-[ab]-[0-9a-f]{6}\.json$/);
      expect(statSync(join(dir, f)).mode & 0o077).toBe(0);
    }
    const store = directoryStore(root);
    await expect(store.create(`.awslease/lease-log/aws/${files[0]}`, "{}")).rejects.toThrow(/EEXIST/);
  });

  it("reads events back in time order and folds them per lease, with who revoked", async () => {
    const { ctx } = fileBackend();
    // A few ms apart: events are ordered by their time, to the millisecond.
    const tick = () => new Promise((r) => setTimeout(r, 3));
    await appendLeaseEvents(ctx, [issued("a")]);
    await tick();
    await appendLeaseEvents(ctx, [issued("b")]);
    await tick();
    await appendLeaseEvents(ctx, [{ event: "renewed", leaseId: "aws/creds/ci/a", by: "cli", expiresAt: "2026-12-01T02:00:00Z" }]);
    await tick();
    await appendLeaseEvents(ctx, [{ event: "revoked", leaseId: "aws/creds/ci/a", by: "credential-process" }]);
    const events = await readLeaseEvents(ctx);
    expect(events.map((e) => `${e.event} ${e.leaseId.split("/").pop()}`)).toEqual(["issued a", "issued b", "renewed a", "revoked a"]);
    expect(events.every((e) => /@/.test(e.actor))).toBe(true);
    const [a, b] = leaseHistories(events);
    expect(a).toMatchObject({ leaseId: "aws/creds/ci/a", username: "user-a", expiresAt: "2026-12-01T02:00:00Z", revokedBy: "credential-process" });
    expect(a.revokedAt).toBe(events[3].time);
    expect(b.leaseId).toBe("aws/creds/ci/b");
    expect([b.revokedAt, b.revokedBy]).toEqual([undefined, undefined]);
    expect((await readLeaseEvents(ctx, { prefix: "aws/creds/ci/b" })).map((e) => e.event)).toEqual(["issued"]);
    // Another mount's log is its own.
    expect(await readLeaseEvents({ ...ctx, mount: "other" })).toEqual([]);
  });

  it("on a backend awslease does not write itself, the log is kept under AWSLEASE_HOME", async () => {
    const home = tempDir();
    const ctx = serviceContext({ home, backend: "gs://bucket/path", mount: "aws", quiet: true });
    expect(await backendStore(ctx.backend)).toBeUndefined();
    await appendLeaseEvents(ctx, [issued("c")]);
    expect(readdirSync(join(home, "lease-log", "aws"))).toHaveLength(1);
    expect((await readLeaseEvents(ctx)).map((e) => e.leaseId)).toEqual(["aws/creds/ci/c"]);
  });

  it("a failed write is a warning naming the lease, not a failure", async () => {
    const { ctx, root } = fileBackend();
    // A file where the log directory should be: every write fails.
    writeFileSync(join(root, ".awslease"), "");
    const warnings = await logLeaseEvents(ctx, [issued("d")]);
    expect(warnings).toHaveLength(1);
    expect(warnings[0]).toMatch(/^the lease log could not be written \(.*\); the issued event of aws\/creds\/ci\/d is missing from it$/);
  });

  it("an unreadable entry fails the read, naming the file", async () => {
    const { ctx, root } = fileBackend();
    await appendLeaseEvents(ctx, [issued("e")]);
    writeFileSync(join(root, ".awslease", "lease-log", "aws", "20261201T000000000Z-issued-x-000000.json"), "{truncated");
    await expect(readLeaseEvents(ctx)).rejects.toThrow(/lease log entry .*20261201T000000000Z-issued-x-000000\.json cannot be read/);
  });
});

describe("formatLeaseLog", () => {
  const events: LeaseEvent[] = [
    { ...issued("a"), time: "2026-12-01T00:00:00.100Z", actor: "ci@runner" },
    { event: "revoked", leaseId: "aws/creds/ci/a", by: "sweep", time: "2026-12-01T00:30:00.250Z", actor: "ops@host" },
    {
      event: "issued",
      leaseId: "aws/sts/deploy/b",
      by: "cli",
      role: "deploy",
      credentialType: "assumed_role",
      arn: "arn:aws:sts::123456789012:assumed-role/deploy/session-b",
      time: "2026-12-01T00:10:00.000Z",
      actor: "ci@runner",
    },
  ];

  it("table: one row per lease; the session of an STS lease from its ARN; revoke time to the second", () => {
    const rows = formatLeaseLog(leaseHistories(events), "table").trim().split("\n");
    expect(rows).toHaveLength(3);
    expect(rows[1]).toMatch(/^aws\/creds\/ci\/a\s+ci\s+iam_user\s+user-a\s+2026-12-01T00:00:00Z\s+2026-12-01T01:00:00Z\s+2026-12-01T00:30:00Z\s+sweep$/);
    expect(rows[2]).toMatch(/^aws\/sts\/deploy\/b\s+deploy\s+assumed_role\s+deploy\/session-b\s+-\s+-\s+-\s+-$/);
    expect(formatLeaseLog([], "table")).toBe("No lease events.\n");
  });

  it("json: snake_case rows with every event", () => {
    const [a] = JSON.parse(formatLeaseLog(leaseHistories(events), "json"));
    expect(a).toEqual({
      lease_id: "aws/creds/ci/a",
      role: "ci",
      credential_type: "iam_user",
      username: "user-a",
      arn: null,
      issued_at: "2026-12-01T00:00:00Z",
      expires_at: "2026-12-01T01:00:00Z",
      revoked_at: "2026-12-01T00:30:00.250Z",
      revoked_by: "sweep",
      events: [
        { time: "2026-12-01T00:00:00.100Z", event: "issued", by: "cli", actor: "ci@runner", expires_at: "2026-12-01T01:00:00Z" },
        { time: "2026-12-01T00:30:00.250Z", event: "revoked", by: "sweep", actor: "ops@host" },
      ],
    });
  });
});
