// Mounts: a mount's root config and roles (Vault's `config/*` and `roles/*`), kept in
// its control stack. The desired state is read back from the stack, changed, and
// applied with one engine run.
import { validateEngineConfig, validateRole, type EngineConfigInput, type RoleInput } from "../provider/validation";
import { EngineError, StackLockedError, ValidationError } from "../provider/errors";
import { controlStackName } from "../provider/names";
import type { ServiceContext } from "./context";
import type { ConfiguredMount, DesiredMount, MountConfig, MountState } from "./ports";
import type { RoleSettings } from "../provider/types";
import { formatDuration } from "../provider/duration";
import { CONFIG_FIELDS } from "../provider/configFields";

/** The mount's config and roles, or undefined when the mount does not exist. */
export function readMount(ctx: ServiceContext): Promise<MountState | undefined> {
  return ctx.engine.readMount(ctx.mount);
}

export async function requireMount(ctx: ServiceContext): Promise<ConfiguredMount> {
  return mountOrError(ctx, await readMount(ctx));
}

/** The configured mount, or the "run config write first" error. */
export function mountOrError(ctx: Pick<ServiceContext, "mount">, mount: MountState | undefined): ConfiguredMount {
  if (!mount?.config) {
    throw new ValidationError([{ field: "mount", reason: `mount "${ctx.mount}" is not configured: run \`awslease config write\` first` }]);
  }
  return mount as ConfiguredMount;
}

/** A role of the mount, or the "no such role" error. */
export async function readRole(ctx: ServiceContext, name: string): Promise<{ input: RoleInput; settings: RoleSettings }> {
  const role = (await requireMount(ctx)).roles[name];
  if (!role) throw new ValidationError([{ field: "name", reason: `no such role "${name}"` }]);
  return role;
}

/**
 * A mount's config as `config read` shows it: Vault's config/root and config/lease
 * fields (CONFIG_FIELDS; never the secret key), plus the table id and whose keys they are.
 */
export function configView(config: MountConfig, endpoint?: "root" | "lease"): Record<string, unknown> {
  const s = config.settings;
  const values: Record<string, unknown> = {
    ...s,
    stsRevocation: s.stsRevocation ?? "deny",
    lease: formatDuration(s.leaseSeconds),
    leaseMax: formatDuration(s.leaseMaxSeconds),
  };
  const fields = CONFIG_FIELDS.filter((f) => !f.secret && (!endpoint || f.endpoint === endpoint));
  const view: Record<string, unknown> = Object.fromEntries(fields.map((f) => [f.vault, values[f.key] ?? null]));
  if (endpoint) return view;
  return {
    mount: s.mount,
    ...view,
    // Every IAM user this lease table issues is tagged awslease:table=<table_id>.
    table_id: s.tableId ?? null,
    account_id: config.accountId,
    caller_arn: config.callerArn,
    root_rotated_at: config.rotatedAt ?? null,
  };
}

/**
 * Applies the desired config and roles with one `pulumi up` of the control stack.
 * A failure leaves the mount as it was: a stack this run created is removed again.
 */
async function applyMount(ctx: ServiceContext, desired: DesiredMount, existed: boolean, what: string): Promise<MountState> {
  // Rules are checked here first so bad input never reaches the engine.
  if (desired.config) validateEngineConfig(desired.config, { mount: ctx.mount });
  for (const [name, input] of Object.entries(desired.roles)) validateRole(name, input);
  const stackName = controlStackName(ctx.mount);
  ctx.progress(`awslease: applying mount "${ctx.mount}" (pulumi up ${stackName})`);
  try {
    return await ctx.engine.applyMount(ctx.mount, desired, {
      create: !existed,
      lock: { retryHint: `clear it with \`pulumi cancel --stack ${stackName}\` (PULUMI_BACKEND_URL=${ctx.backend})` },
    });
  } catch (err) {
    if (!existed && !(err instanceof StackLockedError)) await ctx.engine.destroyStack(stackName, { cleanup: true }).catch(() => undefined);
    throw new EngineError(`${what} failed: ${(err as Error).message}`, { cause: err });
  }
}

function desiredFrom(state: MountState | undefined): DesiredMount {
  const roles: Record<string, RoleInput> = {};
  for (const [name, r] of Object.entries(state?.roles ?? {})) roles[name] = r.input;
  if (!state?.config) return { roles };
  return { config: { ...state.config.input }, rotateRootTrigger: state.config.rotateRootTrigger, roles };
}

/** `config write`: fields not given keep their value (Vault's update semantics). */
export async function writeConfig(ctx: ServiceContext, changes: EngineConfigInput): Promise<ConfiguredMount> {
  const current = await readMount(ctx);
  const desired = desiredFrom(current);
  desired.config = { ...(desired.config ?? {}), ...stripUndefined(changes) };
  return (await applyMount(ctx, desired, current !== undefined, "config write")) as ConfiguredMount;
}

export async function rotateRoot(ctx: ServiceContext): Promise<ConfiguredMount> {
  const current = await requireMount(ctx);
  if (!current.config.settings.accessKey) {
    throw new ValidationError([
      { field: "accessKey", reason: "rotate-root needs static root credentials: run `awslease config write --access-key ...` first" },
    ]);
  }
  const desired = desiredFrom(current);
  desired.rotateRootTrigger = new Date(ctx.now()).toISOString();
  return (await applyMount(ctx, desired, true, "config rotate-root")) as ConfiguredMount;
}

/**
 * `role write`: merges with an existing role of that name, as Vault does. The mount's
 * root config may come later (as in Vault): it is needed only to issue.
 */
export async function writeRole(ctx: ServiceContext, name: string, input: Partial<RoleInput>): Promise<MountState> {
  const current = await readMount(ctx);
  const desired = desiredFrom(current);
  const merged = { ...(desired.roles[name] ?? {}), ...stripUndefined(input) } as RoleInput;
  validateRole(name, merged);
  desired.roles[name] = merged;
  return applyMount(ctx, desired, current !== undefined, `role write ${name}`);
}

export async function deleteRole(ctx: ServiceContext, name: string): Promise<MountState> {
  const current = await readMount(ctx);
  if (!current?.roles[name]) throw new ValidationError([{ field: "name", reason: `no such role "${name}"` }]);
  const desired = desiredFrom(current);
  delete desired.roles[name];
  return applyMount(ctx, desired, true, `role delete ${name}`);
}

/** The mounts in the backend. */
export function listMounts(ctx: ServiceContext): Promise<string[]> {
  return ctx.store.listMounts();
}

/** Vault's `secrets enable aws`: a mount with no config and no roles yet. */
export async function enableMount(ctx: ServiceContext): Promise<MountState> {
  if (await readMount(ctx)) throw new ValidationError([{ field: "path", reason: `path is already in use at ${ctx.mount}/` }]);
  return applyMount(ctx, { roles: {} }, false, `enable mount ${ctx.mount}`);
}

/**
 * Vault's `secrets disable`: every lease of the mount is revoked first; if any revoke
 * fails the mount stays, so no lease loses its table. Then its static roles (their
 * keys) and the control stack go.
 */
export async function disableMount(ctx: ServiceContext): Promise<void> {
  if (!(await readMount(ctx))) throw new ValidationError([{ field: "path", reason: `no mount at ${ctx.mount}/` }]);
  // Imported here: leases.ts imports this module.
  const { list, revokeByPrefix } = await import("./leases");
  const { results, unreadable } = await revokeByPrefix(ctx, `${ctx.mount}/`, {});
  const failed = results.filter((r) => r.outcome === "failed").length + unreadable.length;
  if (failed > 0) throw new EngineError(`disable mount ${ctx.mount}: ${failed} lease(s) could not be revoked; the mount stays`);
  const left = await list(ctx);
  if (left.unfinished.length > 0)
    throw new EngineError(`disable mount ${ctx.mount}: ${left.unfinished.length} unfinished issue(s) remain: run sweep, then disable again`);
  // Static roles go too, with the keys awslease made (their users stay).
  const { deleteStaticRole, listStaticRoles } = await import("./staticRoles");
  for (const name of await listStaticRoles(ctx)) await deleteStaticRole(ctx, name);
  ctx.progress(`awslease: disabling mount "${ctx.mount}"`);
  await ctx.engine.destroyStack(controlStackName(ctx.mount), {});
}

function stripUndefined<T extends object>(o: T): Partial<T> {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as Partial<T>;
}
