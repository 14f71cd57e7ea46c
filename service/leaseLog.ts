// The lease log: what an audit needs of every lease after its stack is gone. Append
// only: each event is a new small file in the backend (`.awslease/lease-log/<mount>/`),
// never rewritten, so runners sharing a backend never race on one object (S3 has no
// append). No secret is ever in it. On backends awslease does not write itself
// (Pulumi Cloud, azblob, gs, ...) the log is kept under AWSLEASE_HOME instead.
import { hostname, userInfo } from "node:os";
import { randomBytes } from "node:crypto";
import { settleWithConcurrency } from "../provider/concurrency";
import { parseLeaseId } from "../provider/names";
import type { ServiceContext } from "./context";
import type { BackendStore } from "./store/backendStore";
import type { LeaseRecord } from "./ports";

export type LeaseEventKind = "issued" | "renewed" | "revoked" | "cleaned-up" | "irrevocable";
/** Who caused the event: the `lease` commands, `sweep`, `credential-process` replacing a lease, a server request, or the server's expiration manager. */
export type LeaseActor = "cli" | "sweep" | "credential-process" | "server" | "expiration" | "github-action";

/** The non-secret facts of a lease the log keeps: part of its record. */
export type LeaseLogFacts = Pick<LeaseRecord, "leaseId"> &
  Partial<Pick<LeaseRecord, "role" | "credentialType" | "username" | "arn" | "issuedAt" | "expiresAt">>;

export interface LeaseEvent extends LeaseLogFacts {
  time: string;
  event: LeaseEventKind;
  by: LeaseActor;
  /** user@host of the runner. */
  actor: string;
}

/** One lease's life as the log tells it. */
export interface LeaseHistory extends LeaseLogFacts {
  revokedAt?: string;
  revokedBy?: LeaseActor;
  events: LeaseEvent[];
}

function logStore(ctx: ServiceContext): Promise<{ store: BackendStore; dir: string }> {
  return ctx.store.files("lease-log", ctx.mount);
}

function whoAmI(): string {
  let user = "unknown";
  try {
    user = userInfo().username;
  } catch {
    // no passwd entry (containers)
  }
  return `${user}@${hostname()}`;
}

/**
 * Appends events to the mount's log. File names sort by time; the random part keeps
 * events of the same millisecond (and runners) apart. Throws when the backend write fails.
 */
export async function appendLeaseEvents(ctx: ServiceContext, events: Omit<LeaseEvent, "time" | "actor">[]): Promise<void> {
  if (events.length === 0) return;
  const { store, dir } = await logStore(ctx);
  const actor = whoAmI();
  await Promise.all(
    events.map((e) => {
      const time = new Date(ctx.now()).toISOString();
      const entry: LeaseEvent = { time, actor, ...e };
      const stamp = time.replace(/[-:.]/g, "");
      const name = `${stamp}-${e.event}-${parseLeaseId(e.leaseId).key}-${randomBytes(3).toString("hex")}.json`;
      return store.create(`${dir}/${name}`, `${JSON.stringify(entry)}\n`);
    }),
  );
}

/** The same, for callers whose main work is done: a failed write is a warning, not a failure. */
export async function logLeaseEvents(ctx: ServiceContext, events: Omit<LeaseEvent, "time" | "actor">[]): Promise<string[]> {
  try {
    await appendLeaseEvents(ctx, events);
    return [];
  } catch (err) {
    return [
      `the lease log could not be written (${(err as Error).message}); the ${events[0]?.event ?? ""} event of ${events.map((e) => e.leaseId).join(", ")} is missing from it`,
    ];
  }
}

/** Every event of the mount, oldest first (optionally of lease ids with a prefix). */
export async function readLeaseEvents(ctx: ServiceContext, opts: { prefix?: string } = {}): Promise<LeaseEvent[]> {
  const { store, dir } = await logStore(ctx);
  const files = (await store.list(dir)).filter((f) => f.name.endsWith(".json")).sort((a, b) => a.name.localeCompare(b.name));
  const settled = await settleWithConcurrency(files, 16, async (f) => {
    const got = await store.read(`${dir}/${f.name}`);
    return got ? (JSON.parse(got.content.toString("utf8")) as LeaseEvent) : undefined;
  });
  const events: LeaseEvent[] = [];
  settled.forEach((r, i) => {
    if (r.status === "rejected") throw new Error(`lease log entry ${store.describe(`${dir}/${files[i].name}`)} cannot be read: ${(r.reason as Error).message}`);
    if (r.value && (!opts.prefix || r.value.leaseId.startsWith(opts.prefix))) events.push(r.value);
  });
  return events.sort((a, b) => a.time.localeCompare(b.time));
}

/** Events folded into one row per lease, in the order the leases first appear. */
export function leaseHistories(events: LeaseEvent[]): LeaseHistory[] {
  const byId = new Map<string, LeaseHistory>();
  for (const e of events) {
    let h = byId.get(e.leaseId);
    if (!h) byId.set(e.leaseId, (h = { leaseId: e.leaseId, events: [] }));
    h.events.push(e);
    h.role ??= e.role;
    h.credentialType ??= e.credentialType;
    h.username ??= e.username;
    h.arn ??= e.arn;
    h.issuedAt ??= e.issuedAt;
    if (e.expiresAt) h.expiresAt = e.expiresAt;
    if (e.event === "revoked" || e.event === "cleaned-up") {
      h.revokedAt ??= e.time;
      h.revokedBy ??= e.by;
    }
  }
  return [...byId.values()];
}
