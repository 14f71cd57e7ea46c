// The server's expiration manager: every lease is revoked at its expiry, whoever issued
// it (this server, the CLI, or another server on the same backend), as Vault's
// expiration manager does. The table is read again every `rescanMs` to learn of leases
// issued elsewhere; a lease due before the next read gets a timer. A revoke that fails
// is retried with backoff; after `maxAttempts` (Vault: 6) the lease is marked
// irrevocable and left listed. Servers sharing a backend claim a lease before revoking
// it (an atomic create of `.awslease/expiring/<mount>/<key>.json`), so each lease is
// revoked once. Orphaned IAM users are swept every `sweepMs`.
import { hostname } from "node:os";
import { parseLeaseId } from "../provider/names";
import type { ServiceContext } from "./context";
import type { ConfiguredMount, LeaseRecord } from "./ports";
import { requireMount } from "./mounts";
import { list, markIrrevocable, revokeDirect } from "./leases";
import { recordOf } from "./leaseRecord";
import { logLeaseEvents } from "./leaseLog";
import { sweep } from "./sweep";

export interface ExpirationOptions {
  /** How often the lease table is read again (default 30 s). */
  rescanMs?: number;
  /** Revoke attempts before a lease is marked irrevocable (Vault: 6). */
  maxAttempts?: number;
  /** The first retry's delay; each next one doubles, up to 5 minutes (default 5 s). */
  retryBaseMs?: number;
  /** How often orphaned IAM users and unfinished issues are swept; 0: never (default 10 min). */
  sweepMs?: number;
  /** A claim older than this belongs to a server that died mid-revoke (default 10 min). */
  staleClaimMs?: number;
}

interface Scheduled {
  expiresAt: number;
  timer: NodeJS.Timeout;
  attempts: number;
}

const MAX_RETRY_MS = 5 * 60_000;

export class ExpirationManager {
  private readonly scheduled = new Map<string, Scheduled>();
  private readonly running = new Set<Promise<unknown>>();
  private rescanTimer?: NodeJS.Timeout;
  private sweepTimer?: NodeJS.Timeout;
  private stopped = false;
  private readonly rescanMs: number;
  private readonly maxAttempts: number;
  private readonly retryBaseMs: number;
  private readonly sweepMs: number;
  private readonly staleClaimMs: number;
  /** Revokes done and given up, for the server's log and tests. */
  readonly counts = { revoked: 0, irrevocable: 0, failedAttempts: 0 };

  constructor(
    private readonly ctx: ServiceContext,
    opts: ExpirationOptions = {},
  ) {
    this.rescanMs = opts.rescanMs ?? 30_000;
    this.maxAttempts = opts.maxAttempts ?? 6;
    this.retryBaseMs = opts.retryBaseMs ?? 5_000;
    this.sweepMs = opts.sweepMs ?? 10 * 60_000;
    this.staleClaimMs = opts.staleClaimMs ?? 10 * 60_000;
  }

  start(): void {
    const loop = () => {
      if (this.stopped) return;
      this.track(
        this.rescan().catch((err) => this.ctx.progress(`awslease: expiration: reading the lease table failed (retrying): ${(err as Error).message}`)),
      ).finally(() => {
        if (!this.stopped) this.rescanTimer = setTimeout(loop, this.rescanMs);
      });
    };
    loop();
    if (this.sweepMs > 0) {
      this.sweepTimer = setInterval(() => void this.track(this.sweepOrphans()), this.sweepMs);
    }
  }

  /** Stops scheduling and waits for revokes in flight. */
  async stop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.rescanTimer);
    clearInterval(this.sweepTimer);
    for (const s of this.scheduled.values()) clearTimeout(s.timer);
    this.scheduled.clear();
    await Promise.allSettled([...this.running]);
  }

  /** Leases with a timer now. */
  pending(): string[] {
    return [...this.scheduled.keys()];
  }

  /** Reads every mount's table; gives each lease due before the next read a timer. */
  async rescan(): Promise<void> {
    const now = this.ctx.now();
    const horizon = now + this.rescanMs * 1.5;
    const seen = new Set<string>();
    for (const mount of await this.ctx.store.listMounts()) {
      const { records } = await list({ ...this.ctx, mount });
      for (const rec of records) {
        if (rec.irrevocable) continue;
        seen.add(rec.leaseId);
        const expiresAt = Date.parse(rec.expiresAt);
        const current = this.scheduled.get(rec.leaseId);
        if (current && current.expiresAt === expiresAt) continue;
        if (current) clearTimeout(current.timer); // renewed since
        if (expiresAt <= horizon) this.schedule(rec.leaseId, expiresAt, Math.max(0, expiresAt - now), current?.attempts ?? 0);
        else this.scheduled.delete(rec.leaseId);
      }
    }
    // Leases gone from the table (revoked elsewhere) need no timer.
    for (const [leaseId, s] of this.scheduled) {
      if (!seen.has(leaseId) && s.attempts === 0) {
        clearTimeout(s.timer);
        this.scheduled.delete(leaseId);
      }
    }
  }

  private schedule(leaseId: string, expiresAt: number, delayMs: number, attempts: number): void {
    if (this.stopped) return;
    const timer = setTimeout(() => void this.track(this.expire(leaseId)), delayMs);
    timer.unref?.();
    this.scheduled.set(leaseId, { expiresAt, timer, attempts });
  }

  private track<T>(p: Promise<T>): Promise<T> {
    this.running.add(p);
    void p.finally(() => this.running.delete(p)).catch(() => undefined);
    return p;
  }

  /** Revokes one expired lease: claim, read its record again under the claim, revoke, release. */
  private async expire(leaseId: string): Promise<void> {
    const entry = this.scheduled.get(leaseId);
    if (!entry || this.stopped) return;
    const { mount, key } = parseLeaseId(leaseId);
    const ctx = { ...this.ctx, mount };
    if (!(await this.claim(ctx, key))) {
      // Another server is revoking it: look again after its usual time.
      this.schedule(leaseId, entry.expiresAt, this.rescanMs, entry.attempts);
      return;
    }
    try {
      // Read under the claim: another server may have revoked it since this timer was set.
      const stack = await ctx.store.readStack(mount, key).catch(() => undefined);
      const rec = stack && recordOf(stack);
      if (!stack || !rec || rec.leaseId !== leaseId) {
        // Revoked elsewhere (or an unfinished issue: the sweep's business).
        this.scheduled.delete(leaseId);
        return;
      }
      if (Date.parse(rec.expiresAt) > this.ctx.now()) {
        this.schedule(leaseId, Date.parse(rec.expiresAt), Date.parse(rec.expiresAt) - this.ctx.now(), 0); // renewed
        return;
      }
      await this.revokeClaimed(ctx, rec, entry);
    } finally {
      await this.release(ctx, key);
    }
  }

  private async revokeClaimed(ctx: ServiceContext, rec: LeaseRecord, entry: Scheduled): Promise<void> {
    const leaseId = rec.leaseId;
    try {
      const configured: ConfiguredMount = await requireMount(ctx);
      await revokeDirect(ctx, configured, rec, { ignoreMissing: true, by: "expiration" });
      this.scheduled.delete(leaseId);
      this.counts.revoked++;
      ctx.progress(`awslease: expiration: revoked ${leaseId} (expired ${rec.expiresAt})`);
    } catch (err) {
      this.failed(ctx, rec, entry, (err as Error).message);
    }
  }

  private failed(ctx: ServiceContext, rec: LeaseRecord, entry: Scheduled, error: string): void {
    const attempts = entry.attempts + 1;
    this.counts.failedAttempts++;
    if (attempts >= this.maxAttempts) {
      this.scheduled.delete(rec.leaseId);
      this.counts.irrevocable++;
      ctx.progress(`awslease: expiration: ${rec.leaseId} is irrevocable after ${attempts} attempts (it stays listed; \`lease revoke\` may still): ${error}`);
      void this.track(
        Promise.all([
          markIrrevocable(ctx, rec, error, attempts),
          logLeaseEvents(ctx, [
            { leaseId: rec.leaseId, role: rec.role, credentialType: rec.credentialType, username: rec.username, event: "irrevocable", by: "expiration" },
          ]),
        ]).catch(() => undefined),
      );
      return;
    }
    const delay = Math.min(this.retryBaseMs * 2 ** (attempts - 1), MAX_RETRY_MS);
    ctx.progress(
      `awslease: expiration: revoke of ${rec.leaseId} failed (attempt ${attempts} of ${this.maxAttempts}; next in ${Math.round(delay / 1000)}s): ${error}`,
    );
    this.schedule(rec.leaseId, entry.expiresAt, delay, attempts);
  }

  /** An atomic create; a claim older than staleClaimMs is taken over. */
  private async claim(ctx: ServiceContext, key: string): Promise<boolean> {
    const { store, dir } = await ctx.store.files("expiring", ctx.mount);
    const path = `${dir}/${key}.json`;
    const body = `${JSON.stringify({ host: hostname(), pid: process.pid, at: new Date(ctx.now()).toISOString() })}\n`;
    for (let attempt = 0; attempt < 2; attempt++) {
      try {
        await store.create(path, body);
        return true;
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== "EEXIST") throw err;
        const got = await store.read(path);
        const at = got ? Date.parse((JSON.parse(got.content.toString("utf8")) as { at: string }).at) : 0;
        if (got && ctx.now() - at < this.staleClaimMs) return false;
        await store.remove(path);
      }
    }
    return false;
  }

  private async release(ctx: ServiceContext, key: string): Promise<void> {
    const { store, dir } = await ctx.store.files("expiring", ctx.mount);
    await store.remove(`${dir}/${key}.json`).catch(() => undefined);
  }

  /** The periodic sweep: orphaned users and unfinished issues (expired leases are this manager's). */
  private async sweepOrphans(): Promise<void> {
    for (const mount of await this.ctx.store.listMounts().catch(() => [] as string[])) {
      try {
        const result = await sweep({ ...this.ctx, mount }, { dryRun: false, skipExpired: true });
        for (const u of result.orphanedUsers) this.ctx.progress(`awslease: sweep: deleted orphaned IAM user ${u} (mount ${mount})`);
        for (const s of result.abandonedIssues) this.ctx.progress(`awslease: sweep: cleaned up unfinished issue ${s}`);
        for (const d of result.prunedDenies) this.ctx.progress(`awslease: sweep: dropped expired session denies of ${d} (mount ${mount})`);
        for (const f of result.failures) this.ctx.progress(`awslease: sweep: ${f}`);
      } catch (err) {
        // A mount without root config has nothing to sweep.
        if ((err as Error).name !== "ValidationError") this.ctx.progress(`awslease: sweep of mount ${mount} failed: ${(err as Error).message}`);
      }
    }
  }
}
