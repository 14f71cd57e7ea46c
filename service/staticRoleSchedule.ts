// The server's static-role schedule: every static role of every mount is rotated when
// its period is up, and its retired key deleted a minute after a rotation, whoever
// wrote it. The queue is the table itself, read at start and after every pass, so a
// restart loses no rotation (Vault #28775) and a period changed elsewhere is seen at
// the next read. The next pass runs when the earliest role is due, and at least every
// `rescanMs`; a failed rotation is tried again after `retryMs` (Vault: 10 s). Two
// servers on one backend may both run a due role: the engine's stack lock lets one
// through, and the provider itself decides what is due, so a role is never rotated twice.
import { listMounts } from "./mounts";
import { readStaticRoles, runDueOf } from "./staticRoles";
import { RETIRE_AFTER_SECONDS } from "../provider/staticRole";
import type { ServiceContext } from "./context";
import type { StaticRoleRecord } from "./ports";

export interface StaticRoleScheduleOptions {
  /** The longest wait between two reads of the table (default 30 s). */
  rescanMs?: number;
  /** After a failed rotation (default 10 s, as Vault). */
  retryMs?: number;
}

/** When a role next needs a run: its rotation, or its retired key's deletion. */
export function nextRunAt(record: StaticRoleRecord): number {
  const rotation = Date.parse(record.expiration);
  return record.retiredKey ? Math.min(rotation, Date.parse(record.rotatedAt) + RETIRE_AFTER_SECONDS * 1000) : rotation;
}

export class StaticRoleSchedule {
  private timer?: NodeJS.Timeout;
  private pass?: Promise<void>;
  private stopped = false;
  private readonly rescanMs: number;
  private readonly retryMs: number;
  /** Runs done and failed, for the server's log and tests. */
  readonly counts = { rotated: 0, retired: 0, failed: 0 };

  constructor(
    private readonly ctx: ServiceContext,
    opts: StaticRoleScheduleOptions = {},
  ) {
    this.rescanMs = opts.rescanMs ?? 30_000;
    this.retryMs = opts.retryMs ?? 10_000;
  }

  start(): void {
    this.schedule(0);
  }

  async stop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.timer);
    await this.pass;
  }

  private schedule(delayMs: number): void {
    if (this.stopped) return;
    this.timer = setTimeout(() => {
      this.pass = this.runPass().then((next) => this.schedule(Math.max(1_000, next - this.ctx.now())));
    }, delayMs);
  }

  /** One pass over every mount; returns when the next is due. */
  private async runPass(): Promise<number> {
    let next = this.ctx.now() + this.rescanMs;
    try {
      for (const mount of await listMounts(this.ctx)) {
        const ctx = { ...this.ctx, mount };
        // One read of the mount's static roles a pass: what is due, and then when the next run is.
        const records = await readStaticRoles(ctx);
        const results = await runDueOf(ctx, records);
        for (const r of results) {
          if (r.error) {
            this.counts.failed++;
            next = Math.min(next, this.ctx.now() + this.retryMs);
            this.ctx.progress(`awslease: static role ${mount}/${r.name}: ${r.action} failed (again in ${this.retryMs / 1000}s): ${r.error}`);
          } else {
            this.counts[r.action === "rotate" ? "rotated" : "retired"]++;
            this.ctx.progress(`awslease: static role ${mount}/${r.name}: ${r.action === "rotate" ? "key rotated" : "retired key deleted"}`);
          }
        }
        // A role whose run failed comes back after retryMs (set above), not at its past due time.
        const failed = new Set(results.filter((r) => r.error).map((r) => r.name));
        const ran = new Map(results.filter((r) => r.record).map((r) => [r.name, r.record as StaticRoleRecord]));
        for (const record of records) if (!failed.has(record.name)) next = Math.min(next, nextRunAt(ran.get(record.name) ?? record));
      }
    } catch (err) {
      this.ctx.progress(`awslease: static role schedule: ${(err as Error).message} (again in ${this.retryMs / 1000}s)`);
      next = Math.min(next, this.ctx.now() + this.retryMs);
    }
    return next;
  }
}
