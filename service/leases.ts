// Leases: each lease is its own stack. issue = `pulumi up` of a one-AwsLease program,
// renew = `up` with a new renewal token, revoke = `pulumi destroy` and the stack
// removed; list and lookup read the stacks' (non-secret) records.
import type { CredentialType, IssuedLease, MountSettings, RoleSettings } from "../provider/types";
import { validateLease, checkIssueRequest, type LeaseInput } from "../provider/validation";
import { EngineError, StackLockedError, ValidationError } from "../provider/errors";
import { controlStackName, leaseIdFor, leaseStackName, leaseKeyOf, parseLeaseId, randomLeaseKey } from "../provider/names";
import { settleWithConcurrency } from "../provider/concurrency";
import { parseDuration } from "../provider/duration";
import { revokeLeavesValid } from "../provider/credentialTypes";
import type { ServiceContext } from "./context";
import type { ConfiguredMount, LeaseRecord, LeaseStack, LeaseTable, UnreadableStack } from "./ports";
import { mountOrError, readMount, requireMount } from "./mounts";
import { logLeaseEvents, type LeaseActor } from "./leaseLog";
import { recordOf } from "./leaseRecord";

export interface IssueResult {
  lease: IssuedLease;
  region: string;
}

export interface IssueOptions {
  /** Who issues, for the lease log (default "cli"). */
  by?: LeaseActor;
  /** Recorded with the lease so credential-process can find it again. */
  reuseKey?: string;
  /** Checked against the role before the engine runs (credential-process: TTL over the refresh window). */
  precheck?: (mount: ConfiguredMount, role: RoleSettings) => void;
}

/**
 * `issue ROLE`: one `pulumi up` of a new lease stack. Reading the mount and creating
 * the stack run side by side. A failure leaves no stack and no AWS identity behind.
 */
export async function issue(ctx: ServiceContext, roleName: string, input: LeaseInput, opts: IssueOptions = {}): Promise<IssueResult> {
  const request = validateLease(input);
  const key = randomLeaseKey();
  const stackName = leaseStackName(ctx.mount, key);
  const [found, init] = await Promise.allSettled([readMount(ctx), ctx.engine.initStack(stackName)]);
  let mount: ConfiguredMount;
  let role: RoleSettings | undefined;
  try {
    if (found.status === "rejected") throw found.reason;
    if (init.status === "rejected") throw init.reason;
    mount = mountOrError(ctx, found.value);
    role = mount.roles[roleName]?.settings;
    if (!role) throw new ValidationError([{ field: "role", reason: `no such role "${roleName}" in mount "${ctx.mount}"` }]);
    // The same rules as the provider's check, before the engine starts.
    checkIssueRequest(role, request);
    opts.precheck?.(mount, role);
  } catch (err) {
    // Nothing was issued: the new stack must not stay behind as an empty lease.
    if (init.status === "fulfilled") await ctx.engine.removeStack(stackName, {}).catch(() => undefined);
    throw err;
  }
  const leaseId = leaseIdFor(ctx.mount, role, key);
  ctx.progress(`awslease: issuing ${role.credentialType} credentials for role "${roleName}" (pulumi up ${stackName})`);
  let issued: IssuedLease;
  try {
    issued = await ctx.engine.upLease(stackName, { key, mount: mount.config.settings, role, request: input, reuseKey: opts.reuseKey }, {});
  } catch (err) {
    // A failed create was already undone by the provider. An interrupted run may have
    // recorded a lease nobody received: destroy revokes whatever the stack holds and
    // removes it. If even that fails, the lease stays listed for `lease revoke`.
    const cleaned = await ctx.engine.destroyStack(stackName, { cleanup: true }).then(
      () => "",
      (cleanupErr: Error) => {
        ctx.progress(`awslease: cleanup of ${stackName} failed: ${cleanupErr.message}`);
        return ` (cleanup failed: revoke what it left with \`awslease lease revoke ${leaseId}\`)`;
      },
    );
    throw new EngineError(`issue failed: ${(err as Error).message}${cleaned}`, { cause: err });
  }
  const logWarnings = await logLeaseEvents(ctx, [{ ...logFacts(issued, roleName), event: "issued", by: opts.by ?? "cli" }]);
  return { lease: { ...issued, warnings: [...issued.warnings, ...logWarnings] }, region: mount.config.settings.region };
}

/** The non-secret facts of a lease the log keeps. */
function logFacts(l: Pick<LeaseRecord, "leaseId" | "credentialType" | "username" | "arn" | "issuedAt" | "expiresAt">, role: string) {
  return { leaseId: l.leaseId, role, credentialType: l.credentialType, username: l.username, arn: l.arn, issuedAt: l.issuedAt, expiresAt: l.expiresAt };
}

/**
 * A lease's stack as the table holds it: no stack; a stack with the lease's record;
 * or a stack without one (an issue still running, or one that never finished).
 */
async function readRecord(ctx: ServiceContext, leaseId: string): Promise<{ stackExists: boolean; record?: LeaseRecord }> {
  const { mount, key } = parseLeaseId(leaseId);
  const stack = await ctx.store.readStack(mount, key);
  // A record of another lease id (e.g. the right key with another role) is not this lease.
  if (!stack || (stack.record && stack.record.leaseId !== leaseId)) return { stackExists: false };
  return { stackExists: true, record: stack.record };
}

function noSuchLease(leaseId: string): ValidationError {
  return new ValidationError([{ field: "lease_id", reason: `no such lease "${leaseId}"` }]);
}

export async function lookup(ctx: ServiceContext, leaseId: string): Promise<LeaseRecord> {
  const { record } = await readRecord(ctx, leaseId);
  if (!record) throw noSuchLease(leaseId);
  const irrevocable = await irrevocableMark({ ...ctx, mount: record.mount }, parseLeaseId(leaseId).key);
  return irrevocable === undefined ? record : { ...record, irrevocable };
}

/** `lease renew`: iam_user only; moves the expiry (and its AWS deny policy) by the increment. */
export async function renew(ctx: ServiceContext, leaseId: string, increment: string | number | undefined): Promise<IssuedLease> {
  // Bad input is refused before anything is read.
  if (increment !== undefined) parseDuration(increment, "increment");
  const rec = await lookup(ctx, leaseId);
  if (!rec.renewable) throw new ValidationError([{ field: "lease_id", reason: `lease "${leaseId}" is not renewable (${rec.credentialType})` }]);
  if (Date.parse(rec.expiresAt) <= ctx.now()) {
    throw new ValidationError([{ field: "lease_id", reason: `lease "${leaseId}" expired at ${rec.expiresAt} and cannot be renewed` }]);
  }
  const mount = await requireMount({ ...ctx, mount: rec.mount });
  const request: LeaseInput = { ...rec.request, ttl: increment ?? rec.request.ttl };
  validateLease(request);
  const { key } = parseLeaseId(leaseId);
  const stackName = leaseStackName(rec.mount, key);
  ctx.progress(`awslease: renewing ${leaseId} (pulumi up ${stackName})`);
  let renewed: IssuedLease;
  try {
    renewed = await ctx.engine.upLease(
      stackName,
      { key, mount: mount.config.settings, role: rec.roleSettings, request, renewal: new Date(ctx.now()).toISOString(), reuseKey: rec.reuseKey },
      { lock: { retryHint: "renew again once it has finished" } },
    );
  } catch (err) {
    throw new EngineError(`renew failed: ${(err as Error).message}`, { cause: err });
  }
  const logWarnings = await logLeaseEvents(ctx, [{ ...logFacts(renewed, rec.role), event: "renewed", by: "cli" }]);
  return { ...renewed, warnings: [...renewed.warnings, ...logWarnings] };
}

export interface RevokeResult {
  outcome: "revoked" | "missing" | "abandoned";
  /** E.g. that STS credentials stay valid until their AWS expiry. */
  warnings: string[];
}

export interface RevokeOptions {
  /** An unknown lease id is success ("missing"). */
  ignoreMissing?: boolean;
  /** Break the stack's lock even if its owner may still be running. */
  breakLock?: boolean;
  /** The lease's mount, already read (bulk revokes, sweep). */
  mount?: ConfiguredMount;
  /** Who revokes, for the lease log (default "cli"). */
  by?: LeaseActor;
}

const retryWithBreakLock = (leaseId: string) => `retry with \`awslease lease revoke ${leaseId} --break-lock\``;

/**
 * `lease revoke`: `pulumi destroy` of the lease stack, then the stack removed. A
 * failure leaves the lease listed. A stale lock (its pulumi process is gone) is broken
 * first. A stack without a record (an issue killed mid-run) is cleaned up with
 * revokeAbandoned.
 */
export async function revoke(ctx: ServiceContext, leaseId: string, opts: RevokeOptions = {}): Promise<RevokeResult> {
  const { mount: mountName, key } = parseLeaseId(leaseId);
  const scoped = { ...ctx, mount: mountName };
  // Both reads at once: the lease record and the mount's current root settings.
  // A bulk revoke or a sweep read the mount once and hand it in (one engine run less per lease).
  const [{ stackExists, record: rec }, current] = await Promise.all([
    readRecord(ctx, leaseId),
    opts.mount?.config.settings.mount === mountName ? opts.mount : readMount(scoped),
  ]);
  if (!stackExists) {
    if (opts.ignoreMissing) return { outcome: "missing", warnings: [] };
    throw noSuchLease(leaseId);
  }
  const mount = mountOrError(scoped, current);
  if (!rec) {
    await revokeAbandoned(scoped, mount, key, { ...opts, leaseId, retryHint: retryWithBreakLock(leaseId) });
    return { outcome: "abandoned", warnings: [] };
  }
  const stackName = leaseStackName(mountName, key);
  ctx.progress(`awslease: revoking ${leaseId} (pulumi destroy ${stackName})`);
  let providerWarnings: string[];
  try {
    ({ warnings: providerWarnings } = await ctx.engine.destroyStack(stackName, {
      mount: mount.config.settings,
      lock: { breakLock: opts.breakLock, retryHint: retryWithBreakLock(leaseId) },
    }));
  } catch (err) {
    throw new EngineError(`revoke of ${leaseId} failed (the lease stays listed; retry): ${(err as Error).message}`, { cause: err });
  }
  return revoked(ctx, rec, mount, opts.by, providerWarnings);
}

/** A revoke's result, once it is logged (and an irrevocable mark is cleared: it is revoked after all). */
async function revoked(
  ctx: ServiceContext,
  rec: LeaseRecord,
  mount: ConfiguredMount,
  by: LeaseActor = "cli",
  awsWarnings: string[] = [],
): Promise<RevokeResult> {
  const scoped = { ...ctx, mount: rec.mount };
  // The record read for a single revoke does not say whether it was marked: clear it anyway.
  await clearIrrevocable(scoped, parseLeaseId(rec.leaseId).key).catch(() => undefined);
  const logWarnings = await logLeaseEvents(scoped, [{ ...logFacts(rec, rec.role), event: "revoked", by }]);
  return { outcome: "revoked", warnings: [...revokeWarnings(rec, mount.config.settings, ctx.now()), ...awsWarnings, ...logWarnings] };
}

/**
 * Revoke without an engine run, for bulk revokes and sweep (an engine run per lease
 * is ~2 s of CPU, so hundreds of leases would take minutes): the same AWS teardown
 * the provider's delete runs (provider/aws/leases.ts revokeLease), then the stack
 * removed by force, which honours the stack's lock. A stack an engine run holds (the
 * table read saw its lock) goes through the engine path instead, and a teardown that
 * fails leaves the stack, so the lease stays listed for a retry.
 */
export async function revokeDirect(ctx: ServiceContext, mount: ConfiguredMount, rec: LeaseRecord, opts: RevokeOptions): Promise<RevokeResult> {
  if (rec.pending) return revoke(ctx, rec.leaseId, { ...opts, mount });
  const { revokeLease } = await import("../provider/aws/leases");
  const stackName = leaseStackName(rec.mount, parseLeaseId(rec.leaseId).key);
  ctx.progress(`awslease: revoking ${rec.leaseId}`);
  let awsWarnings: string[];
  try {
    const { warning } = await ctx.aws(mount.config.settings, (clients) =>
      revokeLease(clients, { ...rec, credentialType: rec.credentialType as CredentialType }, mount.config.settings, () => new Date(ctx.now())),
    );
    awsWarnings = warning ? [`${rec.leaseId}: ${warning}`] : [];
  } catch (err) {
    throw new EngineError(`revoke of ${rec.leaseId} failed (the lease stays listed; retry): ${(err as Error).message}`, { cause: err });
  }
  try {
    await ctx.engine.removeStack(stackName, { force: true, lock: { breakLock: opts.breakLock, retryHint: retryWithBreakLock(rec.leaseId) } });
  } catch (err) {
    throw new EngineError(
      `revoke of ${rec.leaseId}: its credentials are revoked but its stack was not removed (it stays listed; retry): ${(err as Error).message}`,
      { cause: err },
    );
  }
  return revoked(ctx, rec, mount, opts.by, awsWarnings);
}

/** Engine runs at once in bulk revokes and sweeps: each is a `pulumi` plus a provider process. */
export const DEFAULT_PARALLEL = 4;

export interface BulkRevokeResult {
  leaseId: string;
  outcome: RevokeResult["outcome"] | "failed";
  warnings: string[];
  error?: string;
}

/**
 * `lease revoke --prefix`: every lease whose id starts with prefix, `parallel` at a
 * time; one lease's failure does not stop the others. onResult sees each as it ends.
 */
export async function revokeByPrefix(
  ctx: ServiceContext,
  prefix: string,
  opts: RevokeOptions & { parallel?: number; onResult?: (r: BulkRevokeResult) => void },
): Promise<{ results: BulkRevokeResult[]; unreadable: UnreadableStack[] }> {
  const [{ records, unreadable }, current] = await Promise.all([list(ctx, { prefix }), readMount(ctx)]);
  const mount = current?.config ? (current as ConfiguredMount) : undefined;
  const settled = await settleWithConcurrency(records, opts.parallel ?? DEFAULT_PARALLEL, async (rec) => {
    const leaseId = rec.leaseId;
    let result: BulkRevokeResult;
    try {
      result = { leaseId, ...(mount ? await revokeDirect(ctx, mount, rec, opts) : await revoke(ctx, leaseId, { ...opts, ignoreMissing: true })) };
    } catch (err) {
      result = { leaseId, outcome: "failed", warnings: [], error: (err as Error).message };
    }
    opts.onResult?.(result);
    return result;
  });
  return { results: settled.map((r) => (r as PromiseFulfilledResult<BulkRevokeResult>).value), unreadable };
}

/** What a revoke leaves valid, and why (provider/credentialTypes.ts revokeLeavesValid). */
function revokeWarnings(rec: LeaseRecord, mount: Pick<MountSettings, "stsRevocation">, now: number): string[] {
  const gap = revokeLeavesValid(rec, mount);
  if (!gap || Date.parse(rec.expiresAt) <= now) return [];
  return [`${rec.leaseId}: ${rec.credentialType} credentials stay valid until their AWS expiry at ${rec.expiresAt}: ${gap}`];
}

/**
 * Cleans up the stack of an issue that never finished (killed, or its cleanup failed):
 * destroys whatever the stack recorded, deletes the IAM user tagged with this lease
 * (created before the kill, so not in the stack), then removes the stack. The destroy
 * takes the stack's lock first, so an issue still running is never touched.
 */
export async function revokeAbandoned(
  ctx: ServiceContext,
  mount: ConfiguredMount,
  key: string,
  opts: RevokeOptions & { users?: string[]; retryHint: string; leaseId?: string },
): Promise<string[]> {
  const { listTaggedUsers, revokeIamUser } = await import("../provider/aws/iamUser");
  const stackName = leaseStackName(ctx.mount, key);
  const settings = mount.config.settings;
  ctx.progress(`awslease: cleaning up ${stackName}: an issue that did not finish`);
  try {
    await ctx.engine.destroyStack(stackName, { mount: settings, keepStack: true, lock: { breakLock: opts.breakLock, retryHint: opts.retryHint } });
  } catch (err) {
    const locked = err instanceof StackLockedError ? " (an issue may still be running)" : "";
    throw new EngineError(`cleanup of ${stackName} failed (it stays listed; retry): ${(err as Error).message}${locked}`, { cause: err });
  }
  const users = await ctx.aws(settings, async (clients) => {
    const tagged = opts.users ?? (await listTaggedUsers(clients, settings)).filter((u) => leaseKeyOf(u.leaseId) === key).map((u) => u.username);
    for (const user of tagged) await revokeIamUser(clients, user);
    return tagged;
  });
  await ctx.engine.removeStack(stackName, {});
  const leaseId = opts.leaseId ?? `${ctx.mount}/?/${key}`;
  await logLeaseEvents(ctx, [{ leaseId, event: "cleaned-up", by: opts.by ?? "cli", username: users.join(",") || undefined }]);
  return users;
}

export interface ListOptions {
  prefix?: string;
  expired?: boolean;
}

export interface LeaseList {
  records: LeaseRecord[];
  /** Stacks whose state could not be read: reported, not guessed at. */
  unreadable: UnreadableStack[];
  /** Lease stacks without a record: issues still running (locked), or killed before they finished. */
  unfinished: LeaseStack[];
}

/** The mount's leases. */
export async function list(ctx: ServiceContext, opts: ListOptions = {}): Promise<LeaseList> {
  const [table, irrevocable] = await Promise.all([readTable(ctx), irrevocableLeases(ctx)]);
  const now = ctx.now();
  const records = table.stacks
    .map(recordOf)
    .map((r) => (r && irrevocable.has(r.leaseId) ? { ...r, irrevocable: irrevocable.get(r.leaseId) } : r))
    .filter((r): r is LeaseRecord => r !== undefined)
    .filter((r) => !opts.prefix || r.leaseId.startsWith(opts.prefix))
    .filter((r) => !opts.expired || Date.parse(r.expiresAt) <= now)
    .sort((a, b) => a.issuedAt.localeCompare(b.issuedAt));
  const unfinished = table.stacks.filter((st) => !st.record);
  return { records, unreadable: table.unreadable, unfinished };
}

/** The mount's lease table; an unknown mount is an error, not an empty table. */
export async function readTable(ctx: ServiceContext): Promise<LeaseTable> {
  const [known, table] = await Promise.all([ctx.store.stackExists(controlStackName(ctx.mount)), ctx.store.readTable(ctx.mount)]);
  if (!known) throw new ValidationError([{ field: "--mount", reason: `no such mount "${ctx.mount}" in ${ctx.backend}` }]);
  return table;
}

/**
 * Leases the server's expiration manager gave up on (Vault's "irrevocable" leases):
 * a mark per lease under `.awslease/irrevocable/<mount>/`, with the last error.
 */
export async function markIrrevocable(ctx: ServiceContext, rec: LeaseRecord, error: string, attempts: number): Promise<void> {
  const { store, dir } = await ctx.store.files("irrevocable", rec.mount);
  const mark = { leaseId: rec.leaseId, error, attempts, since: new Date(ctx.now()).toISOString() };
  await store.put(`${dir}/${parseLeaseId(rec.leaseId).key}.json`, `${JSON.stringify(mark)}\n`);
}

async function clearIrrevocable(ctx: ServiceContext, key: string): Promise<void> {
  const { store, dir } = await ctx.store.files("irrevocable", ctx.mount);
  await store.remove(`${dir}/${key}.json`);
}

/** One lease's irrevocable mark (its last error), or undefined. */
async function irrevocableMark(ctx: ServiceContext, key: string): Promise<string | undefined> {
  const { store, dir } = await ctx.store.files("irrevocable", ctx.mount);
  const got = await store.read(`${dir}/${key}.json`).catch(() => undefined);
  return got ? (JSON.parse(got.content.toString("utf8")) as { error: string }).error : undefined;
}

/** The mount's irrevocable leases: lease id -> last error. */
async function irrevocableLeases(ctx: ServiceContext): Promise<Map<string, string>> {
  const { store, dir } = await ctx.store.files("irrevocable", ctx.mount);
  const marks = new Map<string, string>();
  for (const f of await store.list(dir)) {
    const got = await store.read(`${dir}/${f.name}`).catch(() => undefined);
    if (!got) continue;
    const mark = JSON.parse(got.content.toString("utf8")) as { leaseId: string; error: string };
    marks.set(mark.leaseId, mark.error);
  }
  return marks;
}
