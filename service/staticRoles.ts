// Static roles (Vault's static-roles/:name and static-creds/:name): each is its own
// stack holding one AwsStaticRole, so the table of static roles is read from the
// backend like the lease table. write = `pulumi up` (the first creates the key),
// rotate = `up` with a new rotation value, a due rotation or retirement = plain `up`,
// delete = `pulumi destroy` (the user stays). See provider/staticRole.ts for the key's life.
import { EngineError, ValidationError } from "../provider/errors";
import { staticRoleStackName, parseStaticRoleStackName } from "../provider/names";
import { validateStaticRole, type StaticRoleInput } from "../provider/validation";
import { staticRoleDue } from "../provider/staticRole";
import { settleWithConcurrency } from "../provider/concurrency";
import type { ServiceContext } from "./context";
import type { StaticRoleRecord } from "./ports";
import type { MountSettings } from "../provider/types";
import { requireMount } from "./mounts";

/** static-creds: the current key, and when it is next rotated. */
export interface StaticCredentials {
  accessKey: string;
  secretKey: string;
  /** The next rotation. */
  expiration: string;
  region?: string;
}

function noSuchStaticRole(ctx: ServiceContext, name: string): ValidationError {
  return new ValidationError([{ field: "name", reason: `no static role "${name}" in mount "${ctx.mount}"` }]);
}

const retryHint = (name: string) => `retry \`awslease static-role\` on "${name}" once it has finished`;

/** The role as its stack records it; undefined when there is none. */
export async function findStaticRole(ctx: ServiceContext, name: string): Promise<StaticRoleRecord | undefined> {
  return (await ctx.store.readSecretOutput(staticRoleStackName(ctx.mount, name), "staticRole")) as StaticRoleRecord | undefined;
}

/** `static-role write`: creates the role (and its first key) or changes its period. Fields not given keep their value. */
export async function writeStaticRole(ctx: ServiceContext, name: string, input: StaticRoleInput): Promise<StaticRoleRecord> {
  const current = await findStaticRole(ctx, name);
  const merged: StaticRoleInput = {
    username: input.username ?? current?.username,
    rotationPeriod: input.rotationPeriod ?? current?.rotationPeriod,
  };
  const settings = validateStaticRole(name, merged);
  if (current && settings.username !== current.username) {
    throw new ValidationError([
      { field: "username", reason: `cannot be changed (static role "${name}" owns the keys of ${current.username}): delete the role and write it again` },
    ]);
  }
  const mount = await requireMount(ctx);
  const stackName = staticRoleStackName(ctx.mount, name);
  const existed = current !== undefined || (await ctx.store.stackExists(stackName));
  if (!existed) await ctx.engine.initStack(stackName);
  ctx.progress(`awslease: ${existed ? "updating" : "creating"} static role "${name}" for IAM user ${settings.username} (pulumi up ${stackName})`);
  try {
    const program = {
      mount: mount.config.settings,
      name,
      input: { username: settings.username, rotationPeriod: settings.rotationPeriod },
      rotation: current?.rotation,
    };
    return await ctx.engine.upStaticRole(stackName, program, { lock: { retryHint: retryHint(name) } });
  } catch (err) {
    // A failed first write made no key (the provider undoes its own): no role is left behind.
    if (!existed) await ctx.engine.destroyStack(stackName, { cleanup: true }).catch(() => undefined);
    throw new EngineError(`static role write failed: ${(err as Error).message}`, { cause: err });
  }
}

export async function readStaticRole(ctx: ServiceContext, name: string): Promise<StaticRoleRecord> {
  const record = await findStaticRole(ctx, name);
  if (!record) throw noSuchStaticRole(ctx, name);
  return record;
}

/** The mount's static role names, sorted. */
export async function listStaticRoles(ctx: ServiceContext): Promise<string[]> {
  const stacks = await ctx.store.listStacks(`static-${ctx.mount}.`);
  return stacks
    .map((s) => parseStaticRoleStackName(s))
    .filter((p) => p?.mount === ctx.mount)
    .map((p) => p!.name)
    .sort();
}

/** static-creds: read from the role's stack (no engine run, no AWS call). */
export async function staticCreds(ctx: ServiceContext, name: string): Promise<StaticCredentials> {
  const creds = (await ctx.store.readSecretOutput(staticRoleStackName(ctx.mount, name), "credentials")) as StaticCredentials | undefined;
  if (!creds) throw noSuchStaticRole(ctx, name);
  return creds;
}

/** `static-role delete`: deletes the keys awslease made; the IAM user stays. */
export async function deleteStaticRole(ctx: ServiceContext, name: string): Promise<void> {
  const stackName = staticRoleStackName(ctx.mount, name);
  if (!(await ctx.store.stackExists(stackName))) throw noSuchStaticRole(ctx, name);
  const mount = await requireMount(ctx);
  ctx.progress(`awslease: deleting static role "${name}" (pulumi destroy ${stackName})`);
  try {
    await ctx.engine.destroyStack(stackName, { mount: mount.config.settings, lock: { retryHint: retryHint(name) } });
  } catch (err) {
    throw new EngineError(`static role delete failed (the role stays; retry): ${(err as Error).message}`, { cause: err });
  }
}

/**
 * One engine run on a static role: `now` rotates its key whatever its schedule; without
 * it the run does what is due (rotate, or delete the retired key), if anything.
 */
async function runOn(ctx: ServiceContext, mount: MountSettings, record: StaticRoleRecord, opts: { now: boolean }): Promise<StaticRoleRecord> {
  const stackName = staticRoleStackName(ctx.mount, record.name);
  const program = {
    mount,
    name: record.name,
    input: { username: record.username, rotationPeriod: record.rotationPeriod },
    // The same rotation value as the last run, unless this one is to rotate.
    rotation: opts.now ? new Date(ctx.now()).toISOString() : record.rotation,
  };
  try {
    return await ctx.engine.upStaticRole(stackName, program, { lock: { retryHint: retryHint(record.name) } });
  } catch (err) {
    throw new EngineError(`rotation of static role "${record.name}" failed (its current key stays): ${(err as Error).message}`, { cause: err });
  }
}

/** `static-role rotate NAME`: a new key now (the old one is retired, not yet deleted). */
export async function rotateStaticRole(ctx: ServiceContext, name: string): Promise<StaticRoleRecord> {
  const record = await readStaticRole(ctx, name);
  const mount = await requireMount(ctx);
  ctx.progress(`awslease: rotating the key of static role "${name}" (IAM user ${record.username})`);
  return runOn(ctx, mount.config.settings, record, { now: true });
}

export interface DueResult {
  name: string;
  action: "rotate" | "retire";
  record?: StaticRoleRecord;
  error?: string;
}

/**
 * `static-role rotate --due` (cron, scheduled CI) and the server's schedule: every role
 * of the mount whose rotation (or retired key's deletion) is due. A failure is reported
 * per role; the others go on.
 */
export async function runDue(ctx: ServiceContext, opts: { parallel?: number } = {}): Promise<DueResult[]> {
  return runDueOf(ctx, await readStaticRoles(ctx), opts);
}

/** Every static role of the mount, as the table records it. */
export async function readStaticRoles(ctx: ServiceContext): Promise<StaticRoleRecord[]> {
  const names = await listStaticRoles(ctx);
  return (await Promise.all(names.map((n) => findStaticRole(ctx, n)))).filter((r): r is StaticRoleRecord => !!r);
}

/** runDue over records already read (the server's schedule reads them once per pass). */
export async function runDueOf(ctx: ServiceContext, records: StaticRoleRecord[], opts: { parallel?: number } = {}): Promise<DueResult[]> {
  const due = records
    .map((r) => ({ record: r, action: staticRoleDue(r, ctx.now()) }))
    .filter((d): d is { record: StaticRoleRecord; action: "rotate" | "retire" } => !!d.action);
  if (due.length === 0) return [];
  // The mount is read once for every run of the pass.
  const mount = (await requireMount(ctx)).config.settings;
  const settled = await settleWithConcurrency(due, opts.parallel ?? 4, (d) => runOn(ctx, mount, d.record, { now: false }));
  return due.map((d, i) => {
    const s = settled[i];
    return s.status === "fulfilled"
      ? { name: d.record.name, action: d.action, record: s.value }
      : { name: d.record.name, action: d.action, error: (s.reason as Error).message };
  });
}
