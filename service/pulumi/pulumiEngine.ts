// The real Engine and LeaseStore (../ports.ts): each operation is one or two `pulumi`
// runs in a throwaway workspace, with stale stack locks broken (stackLocks.ts), and
// every failure turned into one line (engineErrorLine). Table and mount reads, and new
// lease stacks, go to the backend's files directly where they can (../store/).
import type { MountSettings } from "../../provider/types";
import { EngineError } from "../../provider/errors";
import { MOUNT_SETTINGS_ENV } from "../../provider/types";
import { controlStackName, mountOfStack } from "../../provider/names";
import type { DesiredMount, Engine, LeaseStore, LockPolicy, MountConfig, MountState } from "../ports";
import type { PulumiFn } from "@pulumi/pulumi/automation";
import {
  destroyStack,
  engineErrorLine,
  providerWarnings,
  initStack,
  listStacks,
  removeStack,
  runPulumi,
  upInline,
  withWorkspace,
  writeStackSettings,
  type EngineLocation,
  type Workspace,
} from "./automation";
import { withLockRecovery } from "./stackLocks";
import { engineSignal } from "./interrupts";
import { leaseProgram, mountProgram, staticRoleProgram } from "./programs";
import {
  listMounts,
  stackNames,
  readLeaseStack,
  readLeaseTable,
  readSecretOutput,
  readStackOutputs,
  stackExists,
  stateEncryptionSalt,
} from "../store/leaseTable";
import { createStackLike } from "../store/newStack";
import { awsleaseFiles, backendStore } from "../store/backendStore";

/** An engine failure as one line (a lock error keeps its own type and hint). */
function failure(err: unknown): Error {
  if (err instanceof EngineError) return err;
  // Not the pulumi command line the Automation API reports for a cancelled run.
  if (engineSignal.aborted) return new EngineError("interrupted: the engine run was cancelled", { cause: err });
  return new EngineError(engineErrorLine(err), { cause: err });
}

/** Runs an engine operation on a stack, with lock recovery when a policy is given. */
async function onStack<T>(ws: Workspace, at: EngineLocation, stackName: string, lock: LockPolicy | undefined, run: () => Promise<T>): Promise<T> {
  try {
    // The stack's own salt in the throwaway workspace: one key derivation per run, not two.
    const salt = await stateEncryptionSalt(at.backend, stackName).catch(() => undefined);
    if (salt) writeStackSettings(ws, stackName, { encryptionsalt: salt });
    return lock ? await withLockRecovery(ws, at, stackName, run, lock) : await run();
  } catch (err) {
    throw failure(err);
  }
}

/** The engine's line when the provider it was told to attach to is not there. */
const WARM_PROVIDER_GONE = /plugin \[pulumi-nodejs\] did not begin responding to RPC connections/;

/**
 * Runs an engine operation that loads the provider. A run that was to attach to the
 * server's warm provider just as it died fails before the provider did anything; it
 * runs once more, spawning its own provider (or attaching to the restarted one).
 */
async function withProvider<T>(at: EngineLocation, run: () => Promise<T>): Promise<T> {
  const attached = at.warmProvider?.env().PULUMI_DEBUG_PROVIDERS !== undefined;
  try {
    return await run();
  } catch (err) {
    if (!attached || !WARM_PROVIDER_GONE.test((err as Error).message)) throw err;
    return run();
  }
}

/** The mount's current root settings (rotated keys) for the provider of a run on an existing lease. */
function settingsEnv(mount: MountSettings | undefined): Record<string, string> {
  return mount ? { [MOUNT_SETTINGS_ENV]: JSON.stringify(mount) } : {};
}

/**
 * The engine's current step from its output (`pulumi up`'s resource lines), e.g.
 * ` +  pulumi-nodejs:dynamic/awslease:AwsLease lease creating (0s)` → `creating AwsLease`.
 * The stack resource itself is not a step.
 */
export function engineStep(outputLine: string): string | undefined {
  const m = /^\s*[-+~*<>]+\s+(\S+)\s+\S+\s+(creating|updating|deleting|reading|refreshing|replacing)\b/.exec(outputLine);
  if (!m || m[1] === "pulumi:pulumi:Stack") return undefined;
  return `${m[2]} ${m[1].split(/[:/]/).pop()}`;
}

/** Where a run's output goes: all of it to stderr with --debug; else its resource steps to the status (a spinner). */
function outputSink(at: EngineLocation): ((out: string) => void) | undefined {
  if (at.debug) return (o) => void process.stderr.write(o);
  const status = at.status;
  if (!status) return undefined;
  return (out) => {
    for (const line of out.split("\n")) {
      const step = engineStep(line);
      if (step) status(step);
    }
  };
}

export function pulumiEngine(at: EngineLocation): Engine {
  const engineOutput = outputSink(at);

  /** `pulumi up` of a stack's inline program (a new stack with `create`), which hands its result over as the engine resolves it. */
  async function upWithResult<T>(
    stackName: string,
    program: (done: (result: T) => void) => PulumiFn,
    opts: { lock?: LockPolicy; create?: boolean },
    what: string,
  ): Promise<T> {
    let result: T | undefined;
    await withProvider(at, () =>
      withWorkspace(
        at,
        program((r) => (result = r)),
        (ws) => onStack(ws, at, stackName, opts.lock, () => upInline(ws, stackName, { create: !!opts.create, onOutput: engineOutput })),
      ),
    );
    if (result === undefined) throw new EngineError(`the update of stack ${stackName} finished without ${what}`);
    return result;
  }
  return {
    async readMount(mount) {
      const stackName = controlStackName(mount);
      let outs: Record<string, unknown> | undefined;
      try {
        outs = await withWorkspace(at, undefined, (ws) => readStackOutputs(ws, at.backend, stackName));
      } catch (err) {
        // E.g. a wrong passphrase: "failed to decrypt: incorrect passphrase, ...".
        throw new EngineError(`cannot read mount "${mount}" (stack ${stackName}): ${engineErrorLine(err)}`, { cause: err });
      }
      if (!outs) return undefined;
      return { config: outs.engine as MountConfig | undefined, roles: (outs.roles ?? {}) as MountState["roles"] };
    },

    applyMount: (mount: string, desired: DesiredMount, opts) =>
      upWithResult<MountState>(controlStackName(mount), (done) => mountProgram(mount, desired, done), opts, "its outputs"),

    async initStack(stackName) {
      // A lease or static role stack is written directly, like its mount's control stack, where it can be (newStack.ts).
      const mount = mountOfStack(stackName);
      if (mount && (!at.secretsProvider || at.secretsProvider === "passphrase")) {
        try {
          if (await createStackLike(at.backend, stackName, controlStackName(mount))) return;
        } catch (err) {
          if ((err as { code?: string }).code === "EEXIST") throw new EngineError(`stack '${stackName}' already exists`, { cause: err });
          // Any other surprise: the engine creates it.
        }
      }
      await withWorkspace(at, undefined, (ws) => onStack(ws, at, stackName, undefined, () => initStack(ws, at, stackName)));
    },

    upLease: (stackName, program, opts) => upWithResult(stackName, (done) => leaseProgram(program, done), opts, "a lease"),

    upStaticRole: (stackName, program, opts) => upWithResult(stackName, (done) => staticRoleProgram(program, done), opts, "the static role's record"),

    async destroyStack(stackName, opts) {
      const env = settingsEnv(opts.mount);
      // A warm provider never sees the run's environment: it is told the settings first.
      if (opts.mount) await at.warmProvider?.useMountSettings(opts.mount);
      const result = await withProvider(at, () =>
        withWorkspace(at, undefined, (ws) =>
          onStack(ws, at, stackName, opts.lock, () =>
            opts.keepStack
              ? runPulumi(ws, ["destroy", "--yes", "--skip-preview", "--stack", stackName], env, { cleanup: opts.cleanup })
              : destroyStack(ws, stackName, env, { cleanup: opts.cleanup }),
          ),
        ),
      );
      return { warnings: providerWarnings(result.stdout) };
    },

    async removeStack(stackName, opts) {
      await withWorkspace(at, undefined, (ws) => onStack(ws, at, stackName, opts.lock, () => removeStack(ws, stackName, { force: opts.force })));
    },
  };
}

export function pulumiLeaseStore(at: EngineLocation): LeaseStore {
  return {
    readTable: (mount) => withWorkspace(at, undefined, (ws) => readLeaseTable(ws, at.backend, mount)),
    readStack: (mount, key) => withWorkspace(at, undefined, (ws) => readLeaseStack(ws, at.backend, mount, key)),
    stackExists: (stackName) => withWorkspace(at, undefined, (ws) => stackExists(ws, at.backend, stackName)),
    listMounts: () => withWorkspace(at, undefined, (ws) => listMounts(ws, at.backend)),
    listStacks: (prefix) => withWorkspace(at, undefined, (ws) => stackNames(ws, at.backend, prefix)),
    readSecretOutput: (stackName, name) => withWorkspace(at, undefined, (ws) => readSecretOutput(ws, at.backend, stackName, name)),
    files: (area, mount) => awsleaseFiles(at.backend, at.home, area, mount),
    async ready() {
      if (!/^(file|s3):\/\//.test(at.backend) || (await backendStore(at.backend))) return;
      // Any engine run against the backend writes its layout (`.pulumi/meta.yaml`).
      await withWorkspace(at, undefined, (ws) => listStacks(ws));
    },
  };
}
