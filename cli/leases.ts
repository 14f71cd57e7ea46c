// Leases through the engine: each lease is its own stack. issue = `pulumi up` of a
// one-resource inline program, revoke = `pulumi destroy --remove`, renew = `up` with a
// new renewal token, list/lookup read the lease stacks' (non-secret) outputs.
import type * as pulumiTypes from "@pulumi/pulumi";
import type { EngineSettings, IssuedLease, RoleSettings } from "../provider/types";
import { validateLease, checkIssueRequest, ValidationError, type LeaseInput } from "../provider/validation";
import { ENGINE_OVERRIDE_ENV } from "../provider/types";
import { parseLeaseId, randomLeaseSuffix } from "../provider/leaseIds";
import type { LeaseFacts } from "./output";
import {
  destroyStack,
  engineErrorLine,
  initStack,
  leaseStackName,
  listStackNames,
  readOutputs,
  removeStack,
  upInline,
  withWorkspace,
  type EngineContext,
} from "./automation";
import { mountOrError, readMount, readMountIn, requireMount, type MountState } from "./mounts";

/** What a lease stack exports (non-secret): what list/lookup/renew read. */
export interface LeaseRecord extends LeaseFacts {
  /** The role as it was at issue: renew keeps the lease what it is. */
  roleSettings: RoleSettings;
  request: LeaseInput;
}

export interface IssueResult {
  lease: IssuedLease;
  region: string;
}

/** An engine or AWS failure: exit code 2. */
export class EngineError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "EngineError";
  }
}


interface LeaseProgramArgs {
  key: string;
  engine: EngineSettings;
  role: RoleSettings;
  request: LeaseInput;
  renewal?: string;
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
        }),
      );
    return { lease: record };
  };
}

/** Engine settings override for runs on existing leases: the mount's current (maybe rotated) root keys. */
function overrideEnv(mount: MountState): Record<string, string> {
  return { [ENGINE_OVERRIDE_ENV]: JSON.stringify(mount.engine.settings) };
}

/**
 * `issue ROLE`: one `pulumi up` of a new lease stack. Reading the mount and creating
 * the stack run side by side; the program reads the mount when the engine runs it.
 */
export async function issue(ctx: EngineContext, roleName: string, input: LeaseInput): Promise<IssueResult> {
  const request = validateLease(input);
  const key = randomLeaseSuffix();
  const stackName = leaseStackName(ctx.mount, key);
  let mount: MountState | undefined;
  let role: RoleSettings | undefined;
  let issued: IssuedLease | undefined;
  const program: pulumiTypes.automation.PulumiFn = async () =>
    leaseProgram({ key, engine: mount!.engine.settings, role: role!, request: input, onLease: (l) => (issued = l) })();
  await withWorkspace(ctx, program, async (ws) => {
    const [found] = await Promise.all([readMountIn(ws, ctx.mount), initStack(ws, ctx, stackName)]);
    try {
      mount = mountOrError(ctx, found);
      role = mount.roles[roleName]?.settings;
      if (!role) throw new ValidationError([{ field: "role", reason: `no such role "${roleName}" in mount "${ctx.mount}"` }]);
      // The same rules as the provider's check, before the engine starts.
      checkIssueRequest(role, request);
    } catch (err) {
      await removeStack(ws, stackName).catch(() => undefined);
      throw err;
    }
    ctx.progress(`awslease: issuing ${role.credentialType} credentials for role "${roleName}" (pulumi up ${stackName})`);
    try {
      await upInline(ws, stackName, { create: false, onOutput: ctx.debug ? (o) => process.stderr.write(o) : undefined });
    } catch (err) {
      // A failed create was already undone by the provider. An interrupted run may have
      // recorded a lease nobody received: destroy revokes whatever the stack holds and
      // removes it. If even that fails, the lease stays listed for `lease revoke`.
      const cleaned = await destroyStack(ws, stackName, {}, { cleanup: true }).then(
        () => "",
        () => ` (cleanup failed: the lease stays listed as ${stackName}; revoke it with \`awslease lease revoke\`)`,
      );
      throw new EngineError(`issue failed: ${engineErrorLine(err)}${cleaned}`);
    }
  });
  if (!issued || !mount) throw new EngineError("issue finished without credentials");
  return { lease: issued, region: mount.engine.settings.region };
}

async function readRecord(ctx: EngineContext, leaseId: string): Promise<LeaseRecord | undefined> {
  const { mount, id } = parseLeaseId(leaseId);
  const scoped = { ...ctx, mount };
  return withWorkspace(scoped, undefined, async (ws) => {
    const outs = await readOutputs(ws, leaseStackName(mount, id), { secrets: false });
    const rec = outs?.lease as LeaseRecord | undefined;
    return rec && rec.leaseId === leaseId ? rec : undefined;
  });
}

function noSuchLease(leaseId: string): ValidationError {
  return new ValidationError([{ field: "lease_id", reason: `no such lease "${leaseId}"` }]);
}

export async function lookup(ctx: EngineContext, leaseId: string): Promise<LeaseRecord> {
  const rec = await readRecord(ctx, leaseId);
  if (!rec) throw noSuchLease(leaseId);
  return rec;
}

/** `lease renew`: iam_user only; moves the expiry (and its AWS deny policy) by the increment. */
export async function renew(ctx: EngineContext, leaseId: string, increment: string | number | undefined): Promise<IssuedLease> {
  const rec = await lookup(ctx, leaseId);
  if (!rec.renewable) throw new ValidationError([{ field: "lease_id", reason: `lease "${leaseId}" is not renewable (${rec.credentialType})` }]);
  if (Date.parse(rec.expiresAt) <= Date.now()) {
    throw new ValidationError([{ field: "lease_id", reason: `lease "${leaseId}" expired at ${rec.expiresAt} and cannot be renewed` }]);
  }
  const scoped = { ...ctx, mount: rec.mount };
  const mount = await requireMount(scoped);
  const request: LeaseInput = { ...rec.request, ttl: increment ?? rec.request.ttl };
  validateLease(request);
  const { id } = parseLeaseId(leaseId);
  let renewed: IssuedLease | undefined;
  const program = leaseProgram({
    key: id,
    engine: mount.engine.settings,
    role: rec.roleSettings,
    request,
    renewal: new Date().toISOString(),
    onLease: (l) => (renewed = l),
  });
  await withWorkspace(scoped, program, async (ws) => {
    ctx.progress(`awslease: renewing ${leaseId} (pulumi up ${leaseStackName(rec.mount, id)})`);
    try {
      await upInline(ws, leaseStackName(rec.mount, id), { create: false });
    } catch (err) {
      throw new EngineError(`renew failed: ${engineErrorLine(err)}`);
    }
  });
  if (!renewed) throw new EngineError("renew finished without a lease");
  return renewed;
}

/** `lease revoke`: `pulumi destroy --remove` of the lease stack. A failure leaves the lease listed. */
export async function revoke(ctx: EngineContext, leaseId: string, opts: { ignoreMissing?: boolean } = {}): Promise<"revoked" | "missing"> {
  const scoped = { ...ctx, mount: parseLeaseId(leaseId).mount };
  // Both reads at once: the lease record and the mount's current root settings.
  const [rec, current] = await Promise.all([readRecord(ctx, leaseId), readMount(scoped)]);
  if (!rec) {
    if (opts.ignoreMissing) return "missing";
    throw noSuchLease(leaseId);
  }
  const mount = mountOrError(scoped, current);
  const { id } = parseLeaseId(leaseId);
  await withWorkspace(scoped, undefined, async (ws) => {
    ctx.progress(`awslease: revoking ${leaseId} (pulumi destroy ${leaseStackName(rec.mount, id)})`);
    try {
      await destroyStack(ws, leaseStackName(rec.mount, id), overrideEnv(mount));
    } catch (err) {
      throw new EngineError(`revoke of ${leaseId} failed (the lease stays listed; retry): ${engineErrorLine(err)}`);
    }
  });
  return "revoked";
}

/** Every lease of the mount, read from the lease stacks in the backend. */
export async function list(ctx: EngineContext, opts: { prefix?: string; expired?: boolean } = {}): Promise<LeaseRecord[]> {
  return (await listWithKeys(ctx, opts)).records;
}

/**
 * The lease records, and the keys of every lease stack - also of those without a
 * record yet (an issue still running, or one killed before it finished).
 */
async function listWithKeys(
  ctx: EngineContext,
  opts: { prefix?: string; expired?: boolean } = {},
): Promise<{ records: LeaseRecord[]; stackKeys: Set<string> }> {
  const prefix = `lease-${ctx.mount}-`;
  let stackKeys = new Set<string>();
  const records = await withWorkspace(ctx, undefined, async (ws) => {
    const names = (await listStackNames(ws)).filter((n) => n.startsWith(prefix));
    stackKeys = new Set(names.map((n) => n.slice(prefix.length)));
    const out: LeaseRecord[] = [];
    // A few at a time: each read is one `pulumi stack output` process.
    for (let i = 0; i < names.length; i += 4) {
      const batch = await Promise.all(
        names.slice(i, i + 4).map((n) => readOutputs(ws, n, { secrets: false }).catch(() => undefined)),
      );
      for (const outs of batch) if (outs?.lease) out.push(outs.lease as LeaseRecord);
    }
    return out;
  });
  const now = Date.now();
  const filtered = records
    .filter((r) => !opts.prefix || r.leaseId.startsWith(opts.prefix))
    .filter((r) => !opts.expired || Date.parse(r.expiresAt) <= now)
    .sort((a, b) => a.issuedAt.localeCompare(b.issuedAt));
  return { records: filtered, stackKeys };
}

export interface SweepResult {
  expiredLeases: string[];
  orphanedUsers: string[];
  failures: string[];
}

/** Users younger than this are left alone: their issue may still be running. */
const ORPHAN_MIN_AGE_MS = 5 * 60 * 1000;

/**
 * `sweep`: revoke expired leases, and delete IAM users this mount tagged whose lease is
 * not in the lease table (e.g. a process killed mid-issue, a stack removed by hand).
 */
export async function sweep(ctx: EngineContext, opts: { dryRun: boolean }): Promise<SweepResult> {
  const { listTaggedUsers, revokeIamUser } = require("../provider/aws/iamUser") as typeof import("../provider/aws/iamUser");
  const mount = await requireMount(ctx);
  const { records: leases, stackKeys } = await listWithKeys(ctx);
  const result: SweepResult = { expiredLeases: [], orphanedUsers: [], failures: [] };
  const now = Date.now();
  for (const lease of leases) {
    if (Date.parse(lease.expiresAt) > now) continue;
    result.expiredLeases.push(lease.leaseId);
    if (opts.dryRun) continue;
    try {
      await revoke(ctx, lease.leaseId, { ignoreMissing: true });
    } catch (err) {
      result.failures.push(`${lease.leaseId}: ${(err as Error).message}`);
    }
  }
  for (const user of await listTaggedUsers(mount.engine.settings, ctx.mount)) {
    // A user whose lease has a stack is not an orphan, even before that stack has a
    // record (an issue still running): `lease revoke` reaches it through the stack.
    const key = user.leaseId?.split("/").pop();
    if (key && stackKeys.has(key)) continue;
    const expired = user.expiresAt ? Date.parse(user.expiresAt) <= now : false;
    const oldEnough = user.issuedAt ? now - Date.parse(user.issuedAt) > ORPHAN_MIN_AGE_MS : true;
    if (!expired && !oldEnough) continue;
    result.orphanedUsers.push(user.username);
    if (opts.dryRun) continue;
    try {
      await revokeIamUser(mount.engine.settings, user.username);
    } catch (err) {
      result.failures.push(`${user.username}: ${(err as Error).message}`);
    }
  }
  return result;
}
