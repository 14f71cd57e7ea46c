// Leases through the engine: each lease is its own stack. issue = `pulumi up` of a
// one-resource inline program, revoke = `pulumi destroy --remove`, renew = `up` with a
// new renewal token, list/lookup read the lease stacks' (non-secret) outputs.
import type * as pulumiTypes from "@pulumi/pulumi";
import type { CredentialType, EngineSettings, IssuedLease, RoleSettings } from "../provider/types";
import { validateLease, checkIssueRequest, type LeaseInput } from "../provider/validation";
import { ValidationError } from "../provider/errors";
import { ENGINE_OVERRIDE_ENV } from "../provider/types";
import { controlStackName, leaseIdFor, leaseStackName, leaseKeyOf, parseLeaseId, parseLeaseStackName, randomLeaseKey } from "../provider/names";
import type { LeaseFacts } from "./output";
import {
  destroyStack,
  engineErrorLine,
  runPulumi,
  initStack,
  removeStack,
  upInline,
  withWorkspace,
  type EngineContext,
} from "./automation";
import { StackLockedError, withLockRecovery } from "./stackLocks";
import { EngineError } from "./errors";
import { settleWithConcurrency } from "../provider/concurrency";
import { parseDuration } from "../provider/duration";
import { rulesOf } from "../provider/credentialTypes";
import { withAwsClients } from "../provider/aws/clients";
import { mountOrError, readMount, readMountIn, requireMount, type ConfiguredMount } from "./mounts";
import { readLeaseStack, readLeaseTable, stackExists, type LeaseStack, type LeaseTable, type UnreadableStack } from "./leaseTable";
import { logLeaseEvents, type LeaseActor } from "./leaseLog";

/** What a lease stack exports (non-secret): what list/lookup/renew read. */
export interface LeaseRecord extends LeaseFacts {
  /** The role as it was at issue: renew keeps the lease what it is. */
  roleSettings: RoleSettings;
  request: LeaseInput;
  /** Set by credential-process / `issue --reuse`: who may be handed this lease again. */
  reuseKey?: string;
  /** Set by list: an engine run holds the lease's stack right now (a renew or revoke). */
  pending?: boolean;
}

export interface IssueResult {
  lease: IssuedLease;
  region: string;
}

export { EngineError };


interface LeaseProgramArgs {
  key: string;
  engine: EngineSettings;
  role: RoleSettings;
  request: LeaseInput;
  renewal?: string;
  reuseKey?: string;
  onLease: (lease: IssuedLease) => void;
}

/** The inline program of a lease stack: one AwsLease, plus its record as outputs. */
function leaseProgram(args: LeaseProgramArgs): pulumiTypes.automation.PulumiFn {
  return async () => {
    const pulumi = require("@pulumi/pulumi") as typeof pulumiTypes;
    const { AwsLease } = require("../provider") as typeof import("../provider");
    const lease = new AwsLease("lease", {
      role: { settings: args.role, engineSettings: args.engine },
      leaseKey: args.key,
      ...args.request,
      renewal: args.renewal,
    });
    // Credentials are captured in-process as the engine resolves them, so no
    // `stack output --show-secrets` run is needed afterwards.
    pulumi
      .output({
        leaseId: lease.leaseId,
        credentialType: lease.credentialType,
        accessKey: lease.accessKey,
        secretKey: lease.secretKey,
        sessionToken: lease.sessionToken,
        arn: lease.arn,
        username: lease.username,
        issuedAt: lease.issuedAt,
        expiresAt: lease.expiresAt,
        leaseDuration: lease.leaseDuration,
        renewable: lease.renewable,
        warnings: lease.warnings,
      })
      .apply((l) => {
        args.onLease({ ...l, warnings: l.warnings ?? [] } as IssuedLease);
      });
    // Built from the non-secret outputs only, so the record stays readable without the passphrase.
    const record = pulumi
      .output({
        leaseId: lease.leaseId,
        credentialType: lease.credentialType,
        issuedAt: lease.issuedAt,
        expiresAt: lease.expiresAt,
        leaseDuration: lease.leaseDuration,
        renewable: lease.renewable,
        username: lease.username,
        arn: lease.arn,
      })
      .apply(
        (l): LeaseRecord => ({
          ...l,
          mount: args.engine.mount,
          role: args.role.name,
          roleSettings: args.role,
          request: { ...args.request, mfaCode: undefined },
          ...(args.reuseKey ? { reuseKey: args.reuseKey } : {}),
        }),
      );
    // A lease that may be handed out again (credential-process) keeps its credentials
    // as a secret output, encrypted like the resource's own: the lease table is the
    // only store of them, and `stack output --show-secrets` reads them back.
    if (!args.reuseKey) return { lease: record };
    const credentials = pulumi.secret(
      pulumi.output({ accessKey: lease.accessKey, secretKey: lease.secretKey, sessionToken: lease.sessionToken, region: args.engine.region }),
    );
    return { lease: record, credentials };
  };
}

/** Engine settings override for runs on existing leases: the mount's current (maybe rotated) root keys. */
function overrideEnv(mount: ConfiguredMount): Record<string, string> {
  return { [ENGINE_OVERRIDE_ENV]: JSON.stringify(mount.engine.settings) };
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
 * the stack run side by side; the program reads the mount when the engine runs it.
 */
export async function issue(ctx: EngineContext, roleName: string, input: LeaseInput, opts: IssueOptions = {}): Promise<IssueResult> {
  const request = validateLease(input);
  const key = randomLeaseKey();
  const stackName = leaseStackName(ctx.mount, key);
  let mount: ConfiguredMount | undefined;
  let role: RoleSettings | undefined;
  let issued: IssuedLease | undefined;
  const program: pulumiTypes.automation.PulumiFn = async () =>
    leaseProgram({ key, engine: mount!.engine.settings, role: role!, request: input, reuseKey: opts.reuseKey, onLease: (l) => (issued = l) })();
  await withWorkspace(ctx, program, async (ws) => {
    const [found, init] = await Promise.allSettled([readMountIn(ws, ctx.mount), initStack(ws, ctx, stackName)]);
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
      if (init.status === "fulfilled") await removeStack(ws, stackName).catch(() => undefined);
      throw err;
    }
    const leaseId = leaseIdFor(ctx.mount, role, key);
    ctx.progress(`awslease: issuing ${role.credentialType} credentials for role "${roleName}" (pulumi up ${stackName})`);
    try {
      await upInline(ws, stackName, { create: false, onOutput: ctx.debug ? (o) => process.stderr.write(o) : undefined });
    } catch (err) {
      // A failed create was already undone by the provider. An interrupted run may have
      // recorded a lease nobody received: destroy revokes whatever the stack holds and
      // removes it. If even that fails, the lease stays listed for `lease revoke`.
      const cleaned = await destroyStack(ws, stackName, {}, { cleanup: true }).then(
        () => "",
        () => ` (cleanup failed: revoke what it left with \`awslease lease revoke ${leaseId}\`)`,
      );
      throw new EngineError(`issue failed: ${engineErrorLine(err)}${cleaned}`);
    }
  });
  if (!issued || !mount) throw new EngineError("issue finished without credentials");
  const logWarnings = await logLeaseEvents(ctx, [{ ...logFacts(issued, roleName), event: "issued", by: opts.by ?? "cli" }]);
  return { lease: { ...issued, warnings: [...issued.warnings, ...logWarnings] }, region: mount.engine.settings.region };
}

/** The non-secret facts of a lease the log keeps. */
function logFacts(l: Pick<LeaseRecord, "leaseId" | "credentialType" | "username" | "arn" | "issuedAt" | "expiresAt">, role: string) {
  return { leaseId: l.leaseId, role, credentialType: l.credentialType, username: l.username, arn: l.arn, issuedAt: l.issuedAt, expiresAt: l.expiresAt };
}

/**
 * A lease's stack as the table holds it: no stack; a stack with the lease's record;
 * or a stack without one - an issue still running, or one that was killed or whose
 * cleanup failed before the record was written ("abandoned").
 */
interface StackLookup {
  stackExists: boolean;
  record?: LeaseRecord;
}

async function readRecord(ctx: EngineContext, leaseId: string): Promise<StackLookup> {
  const { mount, key } = parseLeaseId(leaseId);
  const scoped = { ...ctx, mount };
  return withWorkspace(scoped, undefined, async (ws) => {
    const stack = await readLeaseStack(ws, ctx.backend, mount, key);
    if (!stack) return { stackExists: false };
    // A record of another lease id (e.g. the right key with another role) is not this lease.
    if (stack.record && stack.record.leaseId !== leaseId) return { stackExists: false };
    return { stackExists: true, record: stack.record };
  });
}

function noSuchLease(leaseId: string): ValidationError {
  return new ValidationError([{ field: "lease_id", reason: `no such lease "${leaseId}"` }]);
}

export async function lookup(ctx: EngineContext, leaseId: string): Promise<LeaseRecord> {
  const { record } = await readRecord(ctx, leaseId);
  if (!record) throw noSuchLease(leaseId);
  return record;
}

/** `lease renew`: iam_user only; moves the expiry (and its AWS deny policy) by the increment. */
export async function renew(ctx: EngineContext, leaseId: string, increment: string | number | undefined): Promise<IssuedLease> {
  // Bad input is refused before anything is read.
  if (increment !== undefined) parseDuration(increment, "increment");
  const rec = await lookup(ctx, leaseId);
  if (!rec.renewable) throw new ValidationError([{ field: "lease_id", reason: `lease "${leaseId}" is not renewable (${rec.credentialType})` }]);
  if (Date.parse(rec.expiresAt) <= Date.now()) {
    throw new ValidationError([{ field: "lease_id", reason: `lease "${leaseId}" expired at ${rec.expiresAt} and cannot be renewed` }]);
  }
  const scoped = { ...ctx, mount: rec.mount };
  const mount = await requireMount(scoped);
  const request: LeaseInput = { ...rec.request, ttl: increment ?? rec.request.ttl };
  validateLease(request);
  const { key } = parseLeaseId(leaseId);
  let renewed: IssuedLease | undefined;
  const program = leaseProgram({
    key,
    engine: mount.engine.settings,
    role: rec.roleSettings,
    request,
    renewal: new Date().toISOString(),
    reuseKey: rec.reuseKey,
    onLease: (l) => (renewed = l),
  });
  const stackName = leaseStackName(rec.mount, key);
  await withWorkspace(scoped, program, async (ws) => {
    ctx.progress(`awslease: renewing ${leaseId} (pulumi up ${stackName})`);
    try {
      await withLockRecovery(ws, ctx, stackName, () => upInline(ws, stackName, { create: false }), {
        retryHint: "renew again once it has finished",
      });
    } catch (err) {
      throw new EngineError(`renew failed: ${err instanceof StackLockedError ? err.message : engineErrorLine(err)}`);
    }
  });
  if (!renewed) throw new EngineError("renew finished without a lease");
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

/**
 * `lease revoke`: `pulumi destroy --remove` of the lease stack. A failure leaves the
 * lease listed. A stale lock (its pulumi process is gone) is broken first. A stack
 * without a record (an issue killed mid-run) is cleaned up with revokeAbandoned.
 */
export async function revoke(ctx: EngineContext, leaseId: string, opts: RevokeOptions = {}): Promise<RevokeResult> {
  const { mount: mountName, key } = parseLeaseId(leaseId);
  const scoped = { ...ctx, mount: mountName };
  // Both reads at once: the lease record and the mount's current root settings.
  // A bulk revoke or a sweep read the mount once and hand it in (one engine run less per lease).
  const [{ stackExists, record: rec }, current] = await Promise.all([
    readRecord(ctx, leaseId),
    opts.mount?.engine.settings.mount === mountName ? opts.mount : readMount(scoped),
  ]);
  if (!stackExists) {
    if (opts.ignoreMissing) return { outcome: "missing", warnings: [] };
    throw noSuchLease(leaseId);
  }
  const mount = mountOrError(scoped, current);
  if (!rec) {
    await revokeAbandoned(scoped, mount, key, { ...opts, leaseId, retryHint: `retry with \`awslease lease revoke ${leaseId} --break-lock\`` });
    return { outcome: "abandoned", warnings: [] };
  }
  const stackName = leaseStackName(mountName, key);
  await withWorkspace(scoped, undefined, async (ws) => {
    ctx.progress(`awslease: revoking ${leaseId} (pulumi destroy ${stackName})`);
    try {
      await withLockRecovery(ws, ctx, stackName, () => destroyStack(ws, stackName, overrideEnv(mount)), {
        breakLock: opts.breakLock,
        retryHint: `retry with \`awslease lease revoke ${leaseId} --break-lock\``,
      });
    } catch (err) {
      if (err instanceof StackLockedError) throw new EngineError(`revoke of ${leaseId} failed (the lease stays listed): ${err.message}`);
      throw new EngineError(`revoke of ${leaseId} failed (the lease stays listed; retry): ${engineErrorLine(err)}`);
    }
  });
  return revoked(ctx, rec, opts.by);
}

/** A revoke's result, once it is logged. */
async function revoked(ctx: EngineContext, rec: LeaseRecord, by: LeaseActor = "cli"): Promise<RevokeResult> {
  const logWarnings = await logLeaseEvents({ ...ctx, mount: rec.mount }, [{ ...logFacts(rec, rec.role), event: "revoked", by }]);
  return { outcome: "revoked", warnings: [...revokeWarnings(rec), ...logWarnings] };
}

/**
 * Revoke without an engine run, for bulk revokes and sweep (an engine run per lease
 * is ~2 s of CPU, so hundreds of leases would take minutes): the same AWS teardown
 * the provider's delete runs (provider/aws/leases.ts revokeLease), then the stack
 * removed with `stack rm --force`, which honours the stack's lock. A stack an engine
 * run holds (the table read saw its lock) goes through the engine path instead, and a
 * teardown that fails leaves the stack, so the lease stays listed for a retry.
 */
export async function revokeDirect(ctx: EngineContext, mount: ConfiguredMount, rec: LeaseRecord, opts: RevokeOptions): Promise<RevokeResult> {
  if (rec.pending) return revoke(ctx, rec.leaseId, { ...opts, mount });
  const { revokeLease } = require("../provider/aws/leases") as typeof import("../provider/aws/leases");
  const { key } = parseLeaseId(rec.leaseId);
  const stackName = leaseStackName(rec.mount, key);
  const scoped = { ...ctx, mount: rec.mount };
  ctx.progress(`awslease: revoking ${rec.leaseId}`);
  try {
    await withAwsClients(mount.engine.settings, (clients) => revokeLease(clients, { ...rec, credentialType: rec.credentialType as CredentialType }));
  } catch (err) {
    throw new EngineError(`revoke of ${rec.leaseId} failed (the lease stays listed; retry): ${(err as Error).message}`);
  }
  await withWorkspace(scoped, undefined, async (ws) => {
    try {
      await withLockRecovery(ws, ctx, stackName, () => removeStack(ws, stackName, { force: true }), {
        breakLock: opts.breakLock,
        retryHint: `retry with \`awslease lease revoke ${rec.leaseId} --break-lock\``,
      });
    } catch (err) {
      const why = err instanceof StackLockedError ? err.message : engineErrorLine(err);
      throw new EngineError(`revoke of ${rec.leaseId}: its credentials are revoked but its stack was not removed (it stays listed; retry): ${why}`);
    }
  });
  return revoked(ctx, rec, opts.by);
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
  ctx: EngineContext,
  prefix: string,
  opts: RevokeOptions & { parallel?: number; onResult?: (r: BulkRevokeResult) => void },
): Promise<{ results: BulkRevokeResult[]; unreadable: UnreadableStack[] }> {
  const [{ records, unreadable }, current] = await Promise.all([list(ctx, { prefix }), readMount(ctx)]);
  const mount = current?.engine ? (current as ConfiguredMount) : undefined;
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

/** What a revoke leaves valid: STS credentials cannot be revoked one by one in AWS. */
function revokeWarnings(rec: LeaseRecord): string[] {
  if (rulesOf(rec.credentialType as CredentialType).revocable) return [];
  return [
    `${rec.leaseId}: ${rec.credentialType} credentials cannot be revoked in AWS; they stay valid until their AWS expiry at ${rec.expiresAt}`,
  ];
}

/**
 * Cleans up the stack of an issue that never finished (killed, or its cleanup failed):
 * destroys whatever the stack recorded, deletes the IAM user tagged with this lease
 * (created before the kill, so not in the stack), then removes the stack. The destroy
 * takes the stack's lock first, so an issue still running is never touched.
 */
async function revokeAbandoned(
  ctx: EngineContext,
  mount: ConfiguredMount,
  key: string,
  opts: RevokeOptions & { users?: string[]; retryHint: string; leaseId?: string },
): Promise<string[]> {
  const { listTaggedUsers, revokeIamUser } = require("../provider/aws/iamUser") as typeof import("../provider/aws/iamUser");
  const stackName = leaseStackName(ctx.mount, key);
  return withWorkspace(ctx, undefined, async (ws) => {
    ctx.progress(`awslease: cleaning up ${stackName}: an issue that did not finish`);
    try {
      await withLockRecovery(
        ws,
        ctx,
        stackName,
        () => runPulumi(ws, ["destroy", "--yes", "--skip-preview", "--stack", stackName], overrideEnv(mount)),
        { breakLock: opts.breakLock, retryHint: opts.retryHint },
      );
    } catch (err) {
      const why = err instanceof StackLockedError ? `${err.message} (an issue may still be running)` : engineErrorLine(err);
      throw new EngineError(`cleanup of ${stackName} failed (it stays listed; retry): ${why}`);
    }
    const users = await withAwsClients(mount.engine.settings, async (clients) => {
      const tagged = opts.users ?? (await listTaggedUsers(clients, mount.engine.settings)).filter((u) => leaseKeyOf(u.leaseId) === key).map((u) => u.username);
      for (const user of tagged) await revokeIamUser(clients, user);
      return tagged;
    });
    await removeStack(ws, stackName);
    const leaseId = opts.leaseId ?? `${ctx.mount}/?/${key}`;
    await logLeaseEvents(ctx, [{ leaseId, event: "cleaned-up", by: opts.by ?? "cli", username: users.join(",") || undefined }]);
    return users;
  });
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
export async function list(ctx: EngineContext, opts: ListOptions = {}): Promise<LeaseList> {
  const table = await readTable(ctx);
  const now = Date.now();
  const records = table.stacks
    .map(recordOf)
    .filter((r): r is LeaseRecord => r !== undefined)
    .filter((r) => !opts.prefix || r.leaseId.startsWith(opts.prefix))
    .filter((r) => !opts.expired || Date.parse(r.expiresAt) <= now)
    .sort((a, b) => a.issuedAt.localeCompare(b.issuedAt));
  const unfinished = table.stacks.filter((st) => !st.record);
  return { records, unreadable: table.unreadable, unfinished };
}

/** A stack's lease record, marked pending while an engine run holds the stack. */
function recordOf(stack: LeaseStack): LeaseRecord | undefined {
  return stack.record && stack.locked ? { ...stack.record, pending: true } : stack.record;
}

/** The mount's lease table; an unknown mount is an error, not an empty table. */
async function readTable(ctx: EngineContext): Promise<LeaseTable> {
  return withWorkspace(ctx, undefined, async (ws) => {
    const [known, table] = await Promise.all([stackExists(ws, ctx.backend, controlStackName(ctx.mount)), readLeaseTable(ws, ctx.backend, ctx.mount)]);
    if (!known) throw new ValidationError([{ field: "--mount", reason: `no such mount "${ctx.mount}" in ${ctx.backend}` }]);
    return table;
  });
}

export interface SweepResult {
  expiredLeases: string[];
  /** Stacks of issues that never finished, cleaned up with their tagged users. */
  abandonedIssues: string[];
  orphanedUsers: string[];
  failures: string[];
}

/** Users younger than this are left alone by default: their issue may still be running. */
export const ORPHAN_MIN_AGE_MS = 5 * 60 * 1000;

export interface SweepOptions {
  dryRun: boolean;
  /** Tagged users younger than this are not judged (default ORPHAN_MIN_AGE_MS); 0 judges all at once. */
  minAgeMs?: number;
  /** Revokes and deletions at once (default DEFAULT_PARALLEL). */
  parallel?: number;
}

/**
 * `sweep`: revoke expired leases; clean up the stacks of issues that never finished
 * (killed mid-issue) together with their users; and delete IAM users this lease table
 * tagged whose lease has no stack (e.g. removed by hand). Users of other lease tables
 * are never touched (listTaggedUsers matches the table id), and neither are stacks or
 * users younger than minAgeMs: their issue may still be running.
 */
export async function sweep(ctx: EngineContext, opts: SweepOptions): Promise<SweepResult> {
  const { listTaggedUsers, revokeIamUser } = require("../provider/aws/iamUser") as typeof import("../provider/aws/iamUser");
  const minAge = opts.minAgeMs ?? ORPHAN_MIN_AGE_MS;
  const parallel = opts.parallel ?? DEFAULT_PARALLEL;
  const [mount, table] = await Promise.all([requireMount(ctx), readTable(ctx)]);
  const result: SweepResult = { expiredLeases: [], abandonedIssues: [], orphanedUsers: [], failures: [] };
  for (const bad of table.unreadable) result.failures.push(`${bad.stackName}: unreadable, left alone (${bad.error})`);
  const now = Date.now();
  const oldEnough = (time: string | undefined) => time === undefined || now - Date.parse(time) >= minAge;
  /** Runs each task `parallel` at a time (none in a dry run); a failure is recorded as `name: message`. */
  const runAll = async <T>(items: T[], name: (item: T) => string, task: (item: T) => Promise<unknown>) => {
    if (opts.dryRun) return;
    const settled = await settleWithConcurrency(items, parallel, task);
    settled.forEach((r, i) => {
      if (r.status === "rejected") result.failures.push(`${name(items[i])}: ${(r.reason as Error).message}`);
    });
  };

  const expired = table.stacks.map(recordOf).filter((r): r is LeaseRecord => !!r && Date.parse(r.expiresAt) <= now);
  result.expiredLeases.push(...expired.map((r) => r.leaseId));
  await runAll(expired, (r) => r.leaseId, (r) => revokeDirect(ctx, mount, r, { ignoreMissing: true, by: "sweep" }));

  const users = await withAwsClients(mount.engine.settings, (clients) => listTaggedUsers(clients, mount.engine.settings));
  const usersByKey = new Map<string, typeof users>();
  for (const u of users) {
    const key = leaseKeyOf(u.leaseId) ?? "";
    usersByKey.set(key, [...(usersByKey.get(key) ?? []), u]);
  }
  // Stacks without a record whose last write is old enough: a running issue writes its
  // stack within seconds, and holds its lock (which revokeAbandoned respects) while it runs.
  const abandoned = table.stacks.filter((stack) => {
    const stackUsers = usersByKey.get(stack.key) ?? [];
    // A live lock: the issue is running now (or a cleanup is).
    return !stack.record && !stack.locked && oldEnough(stack.lastUpdate) && stackUsers.every((u) => oldEnough(u.issuedAt));
  });
  for (const stack of abandoned) {
    const stackUsers = usersByKey.get(stack.key) ?? [];
    const who = stackUsers.length ? ` (IAM user ${stackUsers.map((u) => u.username).join(", ")})` : "";
    result.abandonedIssues.push(`${stack.stackName}${who}`);
  }
  await runAll(
    abandoned,
    (stack) => stack.stackName,
    (stack) => {
      const stackUsers = usersByKey.get(stack.key) ?? [];
      return revokeAbandoned(ctx, mount, stack.key, {
        by: "sweep",
        leaseId: stackUsers[0]?.leaseId,
        users: stackUsers.map((u) => u.username),
        retryHint: `sweep again once it is done, or clean it up with \`awslease lease revoke ${stackUsers[0]?.leaseId ?? "<lease id>"} --break-lock\``,
      });
    },
  );

  const stackIds = new Set([...table.stacks.map((s) => s.key), ...table.unreadable.map((u) => parseLeaseStackName(u.stackName)?.key)]);
  const orphans = users.filter((user) => {
    const key = leaseKeyOf(user.leaseId);
    if (key && stackIds.has(key)) return false;
    const expiredUser = user.expiresAt ? Date.parse(user.expiresAt) <= now : false;
    return expiredUser || oldEnough(user.issuedAt);
  });
  result.orphanedUsers.push(...orphans.map((u) => u.username));
  await withAwsClients(mount.engine.settings, (clients) => runAll(orphans, (u) => u.username, (u) => revokeIamUser(clients, u.username)));
  return result;
}
