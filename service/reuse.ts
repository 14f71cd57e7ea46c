// Reusing live leases: `credential-process ROLE` and `issue --reuse`. The AWS CLI runs
// credential_process on every call, so a call must hand out the lease it issued before
// while that lease lives, cheaply, and issue a new one only near its expiry.
import { createHash } from "node:crypto";
import { join } from "node:path";
import type { CredentialType, IssuedLease } from "../provider/types";
import { resolveTtl, leaseSecondsOrDefault, type LeaseInput } from "../provider/validation";
import { ValidationError } from "../provider/errors";
import { formatDuration, parseDuration } from "../provider/duration";
import { leaseStackName, parseLeaseId } from "../provider/names";
import { rulesOf } from "../provider/credentialTypes";
import type { ServiceContext } from "./context";
import type { ConfiguredMount, LeaseRecord } from "./ports";
import { withLocalLock } from "./store/localLock";
import type { LeaseActor } from "./leaseLog";
import { issue, list, revokeDirect, type IssueResult } from "./leases";
import { recordOf } from "./leaseRecord";

/** How long a lease must still be valid to be handed out again (botocore refreshes at 15 minutes left). */
export const DEFAULT_REFRESH_WINDOW_SECONDS = 15 * 60;

export interface ReuseOptions {
  /** Leases are reused by role, mount and this name (e.g. one per CI job or profile). */
  session?: string;
  refreshWindowSeconds: number;
  by: LeaseActor;
}

export interface ReuseResult extends IssueResult {
  reused: boolean;
  /** Leases this call replaced and revoked (iam_user). */
  replaced: string[];
  /** What went wrong revoking them. */
  warnings: string[];
}

/** The key a reusable lease is recorded with: role and optional session (the mount is the table's). */
function reuseKeyOf(roleName: string, session?: string): string {
  return session ? `${roleName}#${session}` : roleName;
}

/**
 * A live lease of the role issued with the same reuse key, while it has more than the
 * refresh window left; otherwise a new lease, and the replaced iam_user leases are
 * revoked (STS ones cannot be: they are left to their expiry and `sweep`).
 */
export async function issueOrReuse(ctx: ServiceContext, roleName: string, input: LeaseInput, opts: ReuseOptions): Promise<ReuseResult> {
  const window = opts.refreshWindowSeconds;
  if (input.ttl !== undefined && input.ttl !== "") {
    const ttl = parseDuration(input.ttl, "ttl");
    if (ttl > 0 && ttl <= window) throw tooShort(ttl, "--ttl", window);
  }
  const key = reuseKeyOf(roleName, opts.session);
  // One caller at a time per reuse key on this machine: parallel first calls share one new lease.
  return withLocalLock(join(ctx.home, "locks"), `${ctx.backend}\n${ctx.mount}\n${key}`, () => reuseOrIssue(ctx, roleName, input, opts, key));
}

function tooShort(ttlSeconds: number, what: string, window: number): ValidationError {
  return new ValidationError([
    {
      field: "ttl",
      reason: `${what} ${formatDuration(ttlSeconds)} is not longer than the refresh window ${formatDuration(window)}: every call would issue a new lease; use a longer --ttl or a shorter --refresh-window`,
    },
  ]);
}

async function reuseOrIssue(ctx: ServiceContext, roleName: string, input: LeaseInput, opts: ReuseOptions, key: string): Promise<ReuseResult> {
  const window = opts.refreshWindowSeconds;
  const usable = (r: LeaseRecord | undefined): r is LeaseRecord =>
    !!r && r.reuseKey === key && !r.pending && (Date.parse(r.expiresAt) - ctx.now()) / 1000 > window;

  // The fast way: the lease the pointer names (two small reads, whatever the table's size).
  const pointed = await readPointer(ctx, key);
  if (pointed) {
    const rec = await pointedRecord(ctx, pointed).catch(() => undefined);
    const reused = usable(rec) ? await reuseLease(ctx, rec).catch(() => undefined) : undefined;
    if (reused) return { ...reused, reused: true, replaced: [], warnings: [] };
  }
  // Else the whole table: a pointer lost or overwritten by another runner is no loss.
  const { records } = await list(ctx);
  const mine = records.filter((r) => r.reuseKey === key && !r.pending);
  const live = mine.filter(usable).sort((a, b) => b.expiresAt.localeCompare(a.expiresAt));
  for (const rec of live) {
    const reused = await reuseLease(ctx, rec).catch(() => undefined);
    if (reused) {
      await writePointer(ctx, key, rec.leaseId).catch(() => undefined);
      return { ...reused, reused: true, replaced: [], warnings: [] };
    }
  }
  // The mount the issue reads also revokes the leases it replaces (no second read).
  let mount: ConfiguredMount | undefined;
  const issued = await issue(ctx, roleName, input, {
    by: opts.by,
    reuseKey: key,
    precheck: (issuing, role) => {
      mount = issuing;
      if (input.ttl !== undefined && input.ttl !== "") return;
      const ttl = leaseSecondsOrDefault(resolveTtl(issuing.config.settings, role, 0).seconds);
      if (ttl <= window) throw tooShort(ttl, "the role's default TTL", window);
    },
  });
  const warnings: string[] = [];
  await writePointer(ctx, key, issued.lease.leaseId).catch((err) =>
    warnings.push(`the reuse pointer could not be written (${(err as Error).message}); the next call reads the whole lease table`),
  );
  // The leases this one replaces: iam_user users are deleted now (whoever still holds
  // their keys refreshes within the window); a failure is a warning, sweep retries.
  // STS sessions are left to expire: denying them would cut off holders mid-window.
  const replaced = mine.filter((r) => rulesOf(r.credentialType as CredentialType).revoke === "delete-user" && !live.includes(r));
  await Promise.all(
    replaced.map((r) =>
      revokeDirect(ctx, mount!, r, { by: opts.by }).catch((err) => warnings.push(`replaced lease ${r.leaseId} was not revoked: ${(err as Error).message}`)),
    ),
  );
  return { ...issued, reused: false, replaced: replaced.map((r) => r.leaseId), warnings };
}

/** The pointer file of a reuse key: the lease id last issued (or reused) for it. No secret. */
async function pointerFile(ctx: ServiceContext, key: string) {
  const { store, dir } = await ctx.store.files("reuse", ctx.mount);
  return { store, path: `${dir}/${createHash("sha256").update(key).digest("hex").slice(0, 32)}.json` };
}

async function readPointer(ctx: ServiceContext, key: string): Promise<string | undefined> {
  try {
    const { store, path } = await pointerFile(ctx, key);
    const got = await store.read(path);
    const leaseId = got ? (JSON.parse(got.content.toString("utf8")) as { leaseId?: unknown }).leaseId : undefined;
    return typeof leaseId === "string" ? leaseId : undefined;
  } catch {
    return undefined;
  }
}

async function writePointer(ctx: ServiceContext, key: string, leaseId: string): Promise<void> {
  const { store, path } = await pointerFile(ctx, key);
  await store.put(path, `${JSON.stringify({ leaseId })}\n`);
}

/** The record of the lease a pointer names, with whether a run holds its stack now. */
async function pointedRecord(ctx: ServiceContext, leaseId: string): Promise<LeaseRecord | undefined> {
  const { mount, key } = parseLeaseId(leaseId);
  if (mount !== ctx.mount) return undefined;
  const stack = await ctx.store.readStack(mount, key);
  if (!stack?.record || stack.record.leaseId !== leaseId) return undefined;
  return recordOf(stack);
}

/** A recorded lease with its credentials, decrypted from its stack; undefined if it is gone. */
async function reuseLease(ctx: ServiceContext, rec: LeaseRecord): Promise<IssueResult | undefined> {
  const stackName = leaseStackName(rec.mount, parseLeaseId(rec.leaseId).key);
  const creds = (await ctx.store.readSecretOutput(stackName, "credentials")) as
    { accessKey: string; secretKey: string; sessionToken?: string; region: string } | undefined;
  if (!creds?.accessKey || !creds.secretKey) return undefined;
  const lease: IssuedLease = {
    leaseId: rec.leaseId,
    credentialType: rec.credentialType as CredentialType,
    accessKey: creds.accessKey,
    secretKey: creds.secretKey,
    sessionToken: creds.sessionToken,
    arn: rec.arn,
    username: rec.username,
    issuedAt: rec.issuedAt,
    expiresAt: rec.expiresAt,
    leaseDuration: Math.max(0, Math.floor((Date.parse(rec.expiresAt) - ctx.now()) / 1000)),
    renewable: rec.renewable,
    warnings: [],
  };
  return { lease, region: creds.region };
}
