// A mount's control stack: its engine config and roles (Vault's `config/*` and
// `roles/*`). The desired state is read back from the stack's own outputs, changed,
// and applied with one `pulumi up` of an inline program.
import type * as pulumiTypes from "@pulumi/pulumi";
import type { EngineSettings, RoleSettings } from "../provider/types";
import { validateEngineConfig, validateRole, type EngineConfigInput, type RoleInput } from "../provider/validation";
import { ValidationError } from "../provider/errors";
import { controlStackName } from "../provider/names";
import {
  destroyStack,
  engineErrorLine,
  readOutputs,
  upInline,
  withWorkspace,
  type EngineContext,
  type Workspace,
} from "./automation";
import { StackLockedError, withLockRecovery } from "./stackLocks";
import { EngineError } from "./errors";

export interface EngineView {
  input: EngineConfigInput;
  settings: EngineSettings;
  accountId: string;
  callerArn: string;
  rotatedAt?: string;
  rotateRootTrigger?: string;
}

/** A mount's control stack. No engine: roles written before `config write` (Vault allows it). */
export interface MountState {
  engine?: EngineView;
  roles: Record<string, { input: RoleInput; settings: RoleSettings }>;
}

/** A mount whose root config is written: what issuing and revoking need. */
export type ConfiguredMount = MountState & { engine: EngineView };

/** The mount's config and roles, or undefined when the mount does not exist. */
export async function readMount(ctx: EngineContext): Promise<MountState | undefined> {
  return withWorkspace(ctx, undefined, (ws) => readMountIn(ws, ctx.mount));
}

/** readMount inside an existing workspace (one `pulumi stack output` run). */
export async function readMountIn(ws: Workspace, mount: string): Promise<MountState | undefined> {
  let outs: Record<string, unknown> | undefined;
  try {
    outs = await readOutputs(ws, controlStackName(mount), { secrets: true });
  } catch (err) {
    // E.g. a wrong passphrase: "failed to decrypt: incorrect passphrase, ...".
    throw new EngineError(`cannot read mount "${mount}" (stack ${controlStackName(mount)}): ${engineErrorLine(err)}`);
  }
  if (!outs) return undefined;
  return { engine: outs.engine as EngineView | undefined, roles: (outs.roles ?? {}) as MountState["roles"] };
}

export async function requireMount(ctx: EngineContext): Promise<ConfiguredMount> {
  return mountOrError(ctx, await readMount(ctx));
}

/** The configured mount, or the "run config write first" error. */
export function mountOrError(ctx: EngineContext, mount: MountState | undefined): ConfiguredMount {
  if (!mount?.engine) {
    throw new ValidationError([
      { field: "mount", reason: `mount "${ctx.mount}" is not configured: run \`awslease config write\` first` },
    ]);
  }
  return mount as ConfiguredMount;
}

interface DesiredMount {
  /** Undefined until `config write`: the stack then holds roles only. */
  engine?: EngineConfigInput;
  rotateRootTrigger?: string;
  roles: Record<string, RoleInput>;
}

/**
 * Applies the desired config and roles with one `pulumi up` of the control stack.
 * A failure leaves the mount as it was: a stack this run created is removed again.
 */
async function applyMount(ctx: EngineContext, desired: DesiredMount, existed: boolean, what: string): Promise<MountState> {
  // Rules are checked here first so bad input never reaches the engine.
  if (desired.engine) validateEngineConfig(desired.engine, { mount: ctx.mount });
  for (const [name, input] of Object.entries(desired.roles)) validateRole(name, input);

  let result: MountState | undefined;
  const program = async () => {
    const pulumi = require("@pulumi/pulumi") as typeof pulumiTypes;
    const { AwsEngineConfig, AwsRole } = require("../provider") as typeof import("../provider");
    if (!desired.engine) {
      // No engine yet: roles are kept as validated settings, and become AwsRole
      // resources with the first `config write`.
      const roles = Object.fromEntries(
        Object.entries(desired.roles).map(([name, input]) => [name, { input, settings: validateRole(name, input) }]),
      );
      result = { roles };
      return { roles };
    }
    const engine = new AwsEngineConfig(ctx.mount, {
      ...desired.engine,
      mount: ctx.mount,
      rotateRootTrigger: desired.rotateRootTrigger,
    });
    const roles: Record<string, pulumiTypes.Output<{ input: RoleInput; settings: RoleSettings }>> = {};
    for (const [name, input] of Object.entries(desired.roles)) {
      const role = new AwsRole(`role-${name}`, { engine, name, ...(input as Omit<RoleInput, "credentialType">), credentialType: input.credentialType as never });
      roles[name] = role.settings.apply((settings) => ({ input, settings }));
    }
    const engineInput = desired.engine;
    const engineView = pulumi
      .all([engine.settings, engine.accountId, engine.callerArn, engine.rotatedAt])
      .apply(([settings, accountId, callerArn, rotatedAt]) => ({
        input: engineInput,
        settings,
        accountId,
        callerArn,
        rotatedAt,
        rotateRootTrigger: desired.rotateRootTrigger,
      }));
    const rolesOut = pulumi.all(roles);
    // Captured in-process: the command needs no extra `stack output` run afterwards.
    pulumi.all([engineView, rolesOut]).apply(([e, r]) => {
      result = { engine: e as EngineView, roles: r };
    });
    return { engine: pulumi.secret(engineView), roles: rolesOut };
  };
  const stackName = controlStackName(ctx.mount);
  await withWorkspace(ctx, program, async (ws) => {
    ctx.progress(`awslease: applying mount "${ctx.mount}" (pulumi up ${stackName})`);
    try {
      await withLockRecovery(
        ws,
        ctx,
        stackName,
        () => upInline(ws, stackName, { create: !existed, onOutput: ctx.debug ? (o) => process.stderr.write(o) : undefined }),
        { retryHint: `clear it with \`pulumi cancel --stack ${stackName}\` (PULUMI_BACKEND_URL=${ctx.backend})` },
      );
    } catch (err) {
      if (!existed) await destroyStack(ws, stackName, {}, { cleanup: true }).catch(() => undefined);
      if (err instanceof StackLockedError) throw new EngineError(`${what} failed: ${err.message}`);
      throw new EngineError(`${what} failed: ${engineErrorLine(err)}`);
    }
  });
  if (!result) throw new EngineError(`${what} failed: the control stack update finished without outputs`);
  return result;
}

function desiredFrom(state: MountState | undefined): DesiredMount {
  const roles: Record<string, RoleInput> = {};
  for (const [name, r] of Object.entries(state?.roles ?? {})) roles[name] = r.input;
  if (!state?.engine) return { roles };
  return { engine: { ...state.engine.input }, rotateRootTrigger: state.engine.rotateRootTrigger, roles };
}

/** `config write`: fields not given keep their value (Vault's update semantics). */
export async function writeConfig(ctx: EngineContext, changes: EngineConfigInput): Promise<ConfiguredMount> {
  const current = await readMount(ctx);
  const desired = desiredFrom(current);
  desired.engine = { ...(desired.engine ?? {}), ...stripUndefined(changes) };
  return (await applyMount(ctx, desired, current !== undefined, "config write")) as ConfiguredMount;
}

export async function rotateRoot(ctx: EngineContext): Promise<ConfiguredMount> {
  const current = await requireMount(ctx);
  if (!current.engine.settings.accessKey) {
    throw new ValidationError([
      { field: "accessKey", reason: "rotate-root needs static root credentials: run `awslease config write --access-key ...` first" },
    ]);
  }
  const desired = desiredFrom(current);
  desired.rotateRootTrigger = new Date().toISOString();
  return (await applyMount(ctx, desired, true, "config rotate-root")) as ConfiguredMount;
}

/**
 * `role write`: merges with an existing role of that name, as Vault does. The mount's
 * root config may come later (as in Vault): it is needed only to issue.
 */
export async function writeRole(ctx: EngineContext, name: string, input: Partial<RoleInput>): Promise<MountState> {
  const current = await readMount(ctx);
  const desired = desiredFrom(current);
  const merged = { ...(desired.roles[name] ?? {}), ...stripUndefined(input) } as RoleInput;
  validateRole(name, merged);
  desired.roles[name] = merged;
  return applyMount(ctx, desired, current !== undefined, `role write ${name}`);
}

export async function deleteRole(ctx: EngineContext, name: string): Promise<MountState> {
  const current = await readMount(ctx);
  if (!current?.roles[name]) throw new ValidationError([{ field: "name", reason: `no such role "${name}"` }]);
  const desired = desiredFrom(current);
  delete desired.roles[name];
  return applyMount(ctx, desired, true, `role delete ${name}`);
}

function stripUndefined<T extends object>(o: T): Partial<T> {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as Partial<T>;
}
