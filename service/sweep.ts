// `sweep`: the lease table's cleanup. Revokes expired leases, cleans up the stacks of
// issues that never finished together with their users, deletes IAM users this
// table tagged whose lease has no stack, and drops the Denies of revoked STS sessions
// that have expired since (provider/aws/sessionDeny.ts).
import { iamUserNameOfArn, leaseKeyOf, parseLeaseStackName, roleNameOfArn } from "../provider/names";
import { settleWithConcurrency } from "../provider/concurrency";
import type { ServiceContext } from "./context";
import type { ConfiguredMount, LeaseRecord } from "./ports";
import type { Target } from "../provider/aws/sessionDeny";
import { requireMount } from "./mounts";
import { DEFAULT_PARALLEL, readTable, revokeAbandoned, revokeDirect } from "./leases";
import { recordOf } from "./leaseRecord";

export interface SweepResult {
  expiredLeases: string[];
  /** Stacks of issues that never finished, cleaned up with their tagged users. */
  abandonedIssues: string[];
  orphanedUsers: string[];
  /** Principals whose awslease-revoked-sessions policy lost expired statements: `role NAME: N`. */
  prunedDenies: string[];
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
  /** Leave expired leases alone (the server's expiration manager revokes them). */
  skipExpired?: boolean;
}

/**
 * Users of other lease tables are never touched (listTaggedUsers matches the table
 * id), and neither are stacks or users younger than minAgeMs: their issue may still
 * be running.
 */
export async function sweep(ctx: ServiceContext, opts: SweepOptions): Promise<SweepResult> {
  const { listTaggedUsers, revokeIamUser } = await import("../provider/aws/iamUser");
  const minAge = opts.minAgeMs ?? ORPHAN_MIN_AGE_MS;
  const parallel = opts.parallel ?? DEFAULT_PARALLEL;
  const [mount, table] = await Promise.all([requireMount(ctx), readTable(ctx)]);
  const settings = mount.config.settings;
  const result: SweepResult = { expiredLeases: [], abandonedIssues: [], orphanedUsers: [], prunedDenies: [], failures: [] };
  for (const bad of table.unreadable) result.failures.push(`${bad.stackName}: unreadable, left alone (${bad.error})`);
  const now = ctx.now();
  const oldEnough = (time: string | undefined) => time === undefined || now - Date.parse(time) >= minAge;
  /** Runs each task `parallel` at a time (none in a dry run); a failure is recorded as `name: message`. */
  const runAll = async <T>(items: T[], name: (item: T) => string, task: (item: T) => Promise<unknown>) => {
    if (opts.dryRun) return;
    const settled = await settleWithConcurrency(items, parallel, task);
    settled.forEach((r, i) => {
      if (r.status === "rejected") result.failures.push(`${name(items[i])}: ${(r.reason as Error).message}`);
    });
  };

  const expired = opts.skipExpired ? [] : table.stacks.map(recordOf).filter((r): r is LeaseRecord => !!r && Date.parse(r.expiresAt) <= now);
  result.expiredLeases.push(...expired.map((r) => r.leaseId));
  await runAll(
    expired,
    (r) => r.leaseId,
    (r) => revokeDirect(ctx, mount, r, { ignoreMissing: true, by: "sweep" }),
  );

  const users = await ctx.aws(settings, (clients) => listTaggedUsers(clients, settings));
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
  await ctx.aws(settings, (clients) =>
    runAll(
      orphans,
      (u) => u.username,
      (u) => revokeIamUser(clients, u.username),
    ),
  );
  if (!opts.dryRun && settings.stsRevocation !== "none") await pruneDenies(ctx, mount, table.stacks.map(recordOf), result);
  return result;
}

/**
 * Where revokes may have denied sessions: the roles the mount's assumed_role roles
 * assume, the root IAM user (federation tokens), and whatever a listed lease names.
 */
export function denyTargets(mount: ConfiguredMount, records: Array<LeaseRecord | undefined>): Target[] {
  const targets = new Map<string, Target>();
  const add = (t: Target) => targets.set(`${t.principal}/${t.name}`, t);
  const rootUser = iamUserNameOfArn(mount.config.callerArn);
  for (const { settings: role } of Object.values(mount.roles)) {
    if (role.credentialType === "assumed_role") for (const arn of role.roleArns) add({ principal: "role", name: roleNameOfArn(arn) });
    if (role.credentialType === "federation_token" && rootUser) add({ principal: "user", name: rootUser });
  }
  for (const r of records) if (r?.sessionRevocation) add({ principal: r.sessionRevocation.principal, name: r.sessionRevocation.name });
  return [...targets.values()];
}

async function pruneDenies(ctx: ServiceContext, mount: ConfiguredMount, records: Array<LeaseRecord | undefined>, result: SweepResult): Promise<void> {
  const { pruneRevokedSessions } = await import("../provider/aws/sessionDeny");
  const settings = mount.config.settings;
  for (const target of denyTargets(mount, records)) {
    try {
      const dropped = await ctx.aws(settings, (clients) => pruneRevokedSessions(clients, target, new Date(ctx.now())));
      if (dropped > 0) result.prunedDenies.push(`${target.principal} ${target.name}: ${dropped}`);
    } catch (err) {
      result.failures.push(`revoked-session denies of ${target.principal} ${target.name}: ${(err as Error).message}`);
    }
  }
}
