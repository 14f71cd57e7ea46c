// AwsStaticRole: Vault's `static-roles/:name` and `static-creds/:name`. awslease owns
// the access key of an existing IAM user and rotates it every rotationPeriod.
// create = first key, read = notice a key or user gone out of band, update = rotate
// (when due, or when `rotation` changes), delete = the keys awslease made (the user stays).
//
// A rotation creates the new key, proves it works, and keeps the key it replaced as
// `retiredKey`: whoever read the old key a moment ago can still use it. The retired key
// is deleted by the next run after RETIRE_AFTER_SECONDS (or by the next rotation, which
// needs its slot). So the user never has more than two keys, the old key goes only
// after the new one works, and a reader never gets a key that was already deleted.
import * as pulumi from "@pulumi/pulumi";
import { shimProvider } from "./shim";
import type { MountIdentity, MountSettings } from "./types";
import { validateStaticRole, type StaticRoleInput, type StaticRoleSettings } from "./validation";
import { checkFailures, hasUnknowns, plain } from "./checks";
import { withAwsClients } from "./aws/clients";
import { AwsCallError } from "./aws/errors";
import { effectiveEngine, identityOf } from "./lease";
import { isoSeconds, wholeSeconds } from "./duration";
import type * as staticKeys from "./aws/staticKeys";

/** How long a replaced key stays valid after a rotation. */
export const RETIRE_AFTER_SECONDS = 60;

export interface AwsStaticRoleArgs {
  /** The mount: an AwsEngineConfig's `settings` (or the same object). */
  engine: pulumi.Input<MountSettings>;
  /** The static role's name (Vault's static-roles/:name); default: the resource name. */
  name?: pulumi.Input<string>;
  /** The existing IAM user whose access key awslease owns. */
  username: pulumi.Input<string>;
  /** Seconds or a duration ("24h"); at least a minute. */
  rotationPeriod: pulumi.Input<string | number>;
  /** Change this value (any string, e.g. a timestamp) to rotate now. */
  rotation?: pulumi.Input<string>;
}

export interface StaticRoleInputs {
  engine: MountSettings;
  engineIdentity?: MountIdentity;
  input: StaticRoleInput & { name: string };
  rotation?: string;
  __provider?: string;
}

/** Stored outputs of a static role. */
export interface StaticRoleState {
  engine: MountSettings;
  engineIdentity?: MountIdentity;
  input: StaticRoleInput & { name: string };
  settings: StaticRoleSettings;
  rotation?: string;
  /** The user's immutable id when the role was written: a user re-created under the name is another user. */
  userId: string;
  accessKey: string;
  /** Secret. */
  secretKey: string;
  /** The key the last rotation replaced, still valid (see the top of this file). */
  retiredKey?: string;
  rotatedAt: string;
  /** When the key is next rotated: Vault's `expiration` of static-creds. */
  expiration: string;
  /** Set by refresh when the current key was deleted out of band: the next run makes a new one. */
  keyMissing?: boolean;
}

export class AwsStaticRole extends pulumi.dynamic.Resource {
  declare readonly settings: pulumi.Output<StaticRoleSettings>;
  declare readonly userId: pulumi.Output<string>;
  declare readonly accessKey: pulumi.Output<string>;
  /** Secret. */
  declare readonly secretKey: pulumi.Output<string>;
  declare readonly rotatedAt: pulumi.Output<string>;
  declare readonly expiration: pulumi.Output<string>;
  declare readonly retiredKey: pulumi.Output<string | undefined>;
  declare readonly keyMissing: pulumi.Output<boolean | undefined>;

  constructor(name: string, args: AwsStaticRoleArgs, opts?: pulumi.CustomResourceOptions) {
    const input = pulumi
      .all([args.name ?? name, args.username, args.rotationPeriod])
      .apply(([n, username, rotationPeriod]) => ({ name: n, username, rotationPeriod }));
    super(
      shimProvider("staticRole"),
      name,
      {
        engine: pulumi.secret(args.engine),
        engineIdentity: pulumi.output(args.engine).apply(identityOf),
        input,
        rotation: args.rotation,
        settings: undefined,
        userId: undefined,
        accessKey: undefined,
        secretKey: undefined,
        retiredKey: undefined,
        rotatedAt: undefined,
        expiration: undefined,
        keyMissing: undefined,
      },
      { ...opts, additionalSecretOutputs: ["secretKey", "engine"] },
      "awslease",
      "AwsStaticRole",
    );
  }
}

/** What the next run does to a static role at `now`: rotate its key, delete the retired one, or nothing. */
export function staticRoleDue(
  state: Pick<StaticRoleState, "expiration" | "retiredKey" | "rotatedAt" | "keyMissing">,
  now = Date.now(),
): "rotate" | "retire" | undefined {
  if (state.keyMissing || Date.parse(state.expiration) <= now) return "rotate";
  if (state.retiredKey && Date.parse(state.rotatedAt) + RETIRE_AFTER_SECONDS * 1000 <= now) return "retire";
  return undefined;
}

function aws(): typeof staticKeys {
  return require("./aws/staticKeys");
}

function differs(a: unknown, b: unknown): boolean {
  return JSON.stringify(a ?? null) !== JSON.stringify(b ?? null);
}

function nextRotation(rotatedAt: Date, settings: StaticRoleSettings): string {
  return isoSeconds(new Date(rotatedAt.getTime() + settings.rotationPeriod * 1000));
}

/** The user, unless it is gone or is another user under the same name: then the step fails, naming it. */
async function sameUser(clients: Parameters<typeof staticKeys.userIdOf>[0], state: Pick<StaticRoleState, "settings" | "userId">): Promise<void> {
  const userId = await aws().userIdOf(clients, state.settings.username);
  if (userId === undefined) throw new AwsCallError("iam:GetUser", "NoSuchEntity", `IAM user ${state.settings.username} no longer exists`);
  if (userId !== state.userId) {
    throw new AwsCallError(
      "iam:GetUser",
      "UserReplaced",
      `IAM user ${state.settings.username} was deleted and re-created (UserId ${state.userId} is now ${userId}); awslease does not take over another user's keys: delete the static role and write it again`,
    );
  }
}

function outputsOf(state: StaticRoleState): StaticRoleState {
  const { __provider: _provider, ...outs } = plain(state) as StaticRoleState & { __provider?: string };
  return outs;
}

export const staticRoleOperations: pulumi.dynamic.ResourceProvider<StaticRoleInputs, StaticRoleState> = {
  async check(_olds, news) {
    return checkFailures(news, () => {
      if (!hasUnknowns(news.input)) validateStaticRole(news.input.name, news.input);
    });
  },

  async diff(_id, old, news) {
    const replaces: string[] = [];
    const settings = hasUnknowns(news.input) ? undefined : validateStaticRole(news.input.name, news.input);
    if (settings && settings.username !== old.settings.username) replaces.push("username");
    if (settings && settings.name !== old.settings.name) replaces.push("name");
    if (!hasUnknowns(news.engineIdentity) && differs(old.engineIdentity, news.engineIdentity)) replaces.push("engine");
    const changes =
      replaces.length > 0 ||
      differs(old.input, news.input) ||
      differs(old.rotation, news.rotation) ||
      differs(old.engine, news.engine) ||
      staticRoleDue(old) !== undefined ||
      (old as { __provider?: string }).__provider !== news.__provider;
    return { changes, replaces, deleteBeforeReplace: true };
  },

  async create(inputs) {
    const settings = validateStaticRole(inputs.input.name, inputs.input);
    const engine = inputs.engine;
    const state = await withAwsClients(engine, async (clients) => {
      const userId = await aws().userIdOf(clients, settings.username);
      if (userId === undefined) throw new AwsCallError("iam:GetUser", "NoSuchEntity", `there is no IAM user ${settings.username}`);
      // As Vault: a user with two keys loses the oldest to make room.
      const key = await aws().createStaticKey(clients, engine, settings.username, { keep: [] });
      const rotatedAt = wholeSeconds(new Date());
      return { userId, accessKey: key.accessKey, secretKey: key.secretKey, rotatedAt: isoSeconds(rotatedAt), expiration: nextRotation(rotatedAt, settings) };
    });
    const out: StaticRoleState = { engine, engineIdentity: inputs.engineIdentity, input: inputs.input, settings, rotation: inputs.rotation, ...state };
    return { id: `${engine.mount}/static-roles/${settings.name}`, outs: outputsOf(out) };
  },

  async read(id, state) {
    if (!state) return { id: "" };
    return withAwsClients(effectiveEngine(state.engine), async (clients) => {
      const userId = await aws().userIdOf(clients, state.settings.username);
      // The user is gone (or is another one now): so are the keys awslease made.
      if (userId === undefined || userId !== state.userId) return { id: "" };
      const keys = (await aws().accessKeysOf(clients, state.settings.username)).map((k) => k.AccessKeyId);
      const retiredKey = state.retiredKey && keys.includes(state.retiredKey) ? state.retiredKey : undefined;
      // plain(): no undefined values (the engine's Struct cannot hold them).
      return { id, props: outputsOf({ ...state, retiredKey, keyMissing: !keys.includes(state.accessKey) || undefined }) };
    });
  },

  async update(_id, old, news) {
    const settings = validateStaticRole(news.input.name, news.input);
    const engine = news.engine;
    let state: StaticRoleState = { ...old, engine, engineIdentity: news.engineIdentity, input: news.input, settings, rotation: news.rotation };
    const rotate = differs(old.rotation, news.rotation) || staticRoleDue(old) === "rotate";
    await withAwsClients(engine, async (clients) => {
      await sameUser(clients, old);
      if (rotate) {
        // The key the last rotation retired goes first: its slot is needed.
        if (old.retiredKey) await aws().deleteStaticKey(clients, settings.username, old.retiredKey);
        const keep = old.keyMissing ? [] : [old.accessKey];
        const key = await aws().createStaticKey(clients, engine, settings.username, { keep });
        state = {
          ...state,
          accessKey: key.accessKey,
          secretKey: key.secretKey,
          retiredKey: old.keyMissing ? undefined : old.accessKey,
          rotatedAt: isoSeconds(wholeSeconds(new Date())),
          keyMissing: undefined,
        };
      } else if (old.retiredKey && staticRoleDue(old) === "retire") {
        await aws().deleteStaticKey(clients, settings.username, old.retiredKey);
        state = { ...state, retiredKey: undefined };
      }
    });
    state.expiration = nextRotation(new Date(state.rotatedAt), settings);
    return { outs: outputsOf(state) };
  },

  async delete(_id, state) {
    await withAwsClients(effectiveEngine(state.engine), async (clients) => {
      // Another user under the same name holds none of the keys awslease made.
      if ((await aws().userIdOf(clients, state.settings.username)) !== state.userId) return;
      for (const key of [state.accessKey, state.retiredKey]) if (key) await aws().deleteStaticKey(clients, state.settings.username, key);
    });
  },
};
