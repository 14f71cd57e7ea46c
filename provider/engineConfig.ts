// AwsEngineConfig: Vault's `config/root` + `config/lease` (+ `config/rotate-root`).
// One per AWS account ("mount"). Its effective settings, including root credentials
// that rotate-root may have replaced, flow to roles and leases as a secret output.
import * as pulumi from "@pulumi/pulumi";
import { shimProvider } from "./shim";
import type { MountIdentity, MountSettings } from "./types";
import { validateEngineConfig, type EngineConfigInput } from "./validation";
import type * as stsCalls from "./aws/sts";
import { withAwsClients } from "./aws/clients";
import type * as rootKeys from "./aws/rootKeys";
import { checkFailures, hasUnknowns, plain } from "./checks";

export interface AwsEngineConfigArgs {
  /** Name used in lease ids (`<mount>/creds/<role>/<id>`); default: the resource name. */
  mount?: pulumi.Input<string>;
  /** Static root credentials; omit both to use the AWS SDK default chain at call time. */
  accessKey?: pulumi.Input<string>;
  secretKey?: pulumi.Input<string>;
  /** Default: AWS_REGION, AWS_DEFAULT_REGION, then us-east-1. */
  region?: pulumi.Input<string>;
  iamEndpoint?: pulumi.Input<string>;
  stsEndpoint?: pulumi.Input<string>;
  /** Region for STS; applies only with stsEndpoint (as in Vault). */
  stsRegion?: pulumi.Input<string>;
  /** Retries of throttled/transient AWS errors; -1 = SDK default. */
  maxRetries?: pulumi.Input<number>;
  /** Vault-style username template (Go template subset). */
  usernameTemplate?: pulumi.Input<string>;
  /**
   * How revoke ends assumed_role and federation_token leases: "deny" (default) puts a
   * Deny for the session into an inline policy of its role or IAM user; "none" leaves
   * them valid until expiry (for accounts where awslease must not change role policies).
   */
  stsRevocation?: pulumi.Input<string>;
  /** Default / maximum TTL of iam_user leases: seconds or a duration ("768h"). */
  lease?: pulumi.Input<string | number>;
  leaseMax?: pulumi.Input<string | number>;
  /**
   * rotate-root: change this value (any string, e.g. a date) to create a new access
   * key for the root IAM user, store it and delete the old one. Afterwards only the
   * engine (its secret state) knows the root secret key.
   */
  rotateRootTrigger?: pulumi.Input<string>;
}

/** The engine provider's inputs, as AwsEngineConfig sets them. */
export interface EngineInputs {
  input: EngineConfigInput;
  rotateRootTrigger?: string;
}

/** Stored outputs of an engine config. */
export interface EngineState {
  input: EngineConfigInput;
  settings: MountSettings;
  rotateRootTrigger?: string;
  accountId: string;
  callerArn: string;
  rotatedAt?: string;
}

export class AwsEngineConfig extends pulumi.dynamic.Resource {
  /** Effective settings for roles and leases (secret: holds the root secret key). */
  declare readonly settings: pulumi.Output<MountSettings>;
  declare readonly accountId: pulumi.Output<string>;
  declare readonly callerArn: pulumi.Output<string>;
  declare readonly rotatedAt: pulumi.Output<string | undefined>;
  /** The mount name. */
  readonly mount: pulumi.Output<string>;
  /** Account and API identity from the arguments (known in preview; no secrets). */
  readonly identity: pulumi.Output<MountIdentity>;

  constructor(name: string, args: AwsEngineConfigArgs = {}, opts?: pulumi.CustomResourceOptions) {
    const mount = pulumi.output(args.mount ?? name);
    const input = pulumi.all([args, mount]).apply(([a, m]) => ({ ...a, mount: m }) as EngineConfigInput);
    super(
      shimProvider("engine"),
      name,
      {
        // The whole input is secret because it may hold the root secret key.
        input: args.secretKey !== undefined ? pulumi.secret(input) : input,
        rotateRootTrigger: args.rotateRootTrigger,
        settings: undefined,
        accountId: undefined,
        callerArn: undefined,
        rotatedAt: undefined,
      },
      { ...opts, additionalSecretOutputs: ["settings", "input"] },
      "awslease",
      "AwsEngineConfig",
    );
    this.mount = mount;
    this.identity = pulumi
      .all([mount, args.region, args.iamEndpoint, args.stsEndpoint, args.stsRegion])
      .apply(([m, region, iamEndpoint, stsEndpoint, stsRegion]) => ({
        mount: m,
        region: region ?? null,
        iamEndpoint: iamEndpoint ?? null,
        stsEndpoint: stsEndpoint ?? null,
        stsRegion: stsRegion ?? null,
      }));
  }
}

// ---- provider operations (run in the provider process via the shim) ----

/** AWS calls, loaded when an operation runs (a program declaring resources never loads the SDK). */
function callerIdentity(engine: MountSettings) {
  return withAwsClients(engine, (clients) => (require("./aws/sts") as typeof stsCalls).callerIdentity(clients));
}
function awsRootKeys(): typeof rootKeys {
  return require("./aws/rootKeys");
}

/** Root credentials differ between the user's input and the effective settings after rotate-root. */
function sameRootInput(a: EngineConfigInput, b: EngineConfigInput): boolean {
  return (a.accessKey ?? "") === (b.accessKey ?? "") && (a.secretKey ?? "") === (b.secretKey ?? "");
}

/** A mount's state: its settings, and whose they are (checked with AWS now). */
async function stateOf(inputs: EngineInputs, settings: MountSettings, rotatedAt?: string): Promise<EngineState> {
  const who = await callerIdentity(settings);
  return { input: inputs.input, settings, rotateRootTrigger: inputs.rotateRootTrigger, accountId: who.accountId, callerArn: who.arn, rotatedAt };
}

function newTableId(): string {
  return (require("node:crypto") as typeof import("node:crypto")).randomUUID();
}

export const engineOperations: pulumi.dynamic.ResourceProvider<EngineInputs, EngineState> = {
  async check(_olds, news) {
    return checkFailures(news, () => {
      if (hasUnknowns(news.input)) return;
      validateEngineConfig(news.input ?? {}, { mount: news.input?.mount ?? "aws" });
    });
  },

  async diff(_id, old, news) {
    const replaces: string[] = [];
    if ((old.input?.mount ?? "") !== (news.input?.mount ?? "")) replaces.push("input");
    // A new serialized shim (__provider) alone is no change here, unlike for leases:
    // an engine's read and delete work with any shim, and an update would make its
    // settings unknown in `pulumi preview`, which then shows every lease replaced.
    const changed = JSON.stringify(old.input) !== JSON.stringify(news.input) || (old.rotateRootTrigger ?? "") !== (news.rotateRootTrigger ?? "");
    return { changes: changed, replaces, deleteBeforeReplace: false };
  },

  async create(inputs) {
    const settings: MountSettings = {
      ...validateEngineConfig(inputs.input ?? {}, { mount: inputs.input?.mount ?? "aws" }),
      tableId: newTableId(),
    };
    return { id: settings.mount, outs: plain(await stateOf(inputs, settings)) };
  },

  async read(id, state) {
    // Nothing in AWS to read back: config lives in state. Re-validate the credentials
    // so that `pulumi refresh` surfaces a revoked root key early.
    if (!state) return { id: "" };
    const who = await callerIdentity(state.settings);
    return { id, props: plain({ ...state, accountId: who.accountId, callerArn: who.arn }) };
  },

  async update(_id, old, news) {
    let settings: MountSettings = {
      ...validateEngineConfig(news.input ?? {}, { mount: news.input?.mount ?? "aws" }),
      // Kept for the engine's lifetime (an engine from before table ids gets one now).
      tableId: old.settings?.tableId ?? newTableId(),
    };
    let rotatedAt = old.rotatedAt;
    if (sameRootInput(old.input ?? {}, news.input ?? {})) {
      // The user did not hand in new root keys: keep the effective (maybe rotated) ones.
      settings = { ...settings, accessKey: old.settings.accessKey, secretKey: old.settings.secretKey };
    } else {
      rotatedAt = undefined;
    }
    if ((old.rotateRootTrigger ?? "") !== (news.rotateRootTrigger ?? "") && news.rotateRootTrigger) {
      const { rotateRootKey, OldRootKeyNotDeletedError } = awsRootKeys();
      let rotated: rootKeys.RotatedRootKey;
      try {
        const current = settings;
        rotated = await withAwsClients(current, (clients) => rotateRootKey(clients, current));
      } catch (err) {
        if (!(err instanceof OldRootKeyNotDeletedError)) throw err;
        // The new key is already in effect: it must reach the state even though the
        // update reports an error (a resource-init failure keeps these properties).
        const partial: EngineState = {
          ...old,
          input: news.input,
          settings: { ...settings, accessKey: err.newCredentials.accessKey, secretKey: err.newCredentials.secretKey },
          rotateRootTrigger: news.rotateRootTrigger,
          rotatedAt: new Date().toISOString(),
        };
        throw Object.assign(new Error(err.message), { id: _id, properties: plain(partial), reasons: [err.message] });
      }
      settings = { ...settings, accessKey: rotated.accessKey, secretKey: rotated.secretKey };
      rotatedAt = new Date().toISOString();
    }
    return { outs: plain(await stateOf(news, settings, rotatedAt)) };
  },

  async delete() {
    // Removing the engine config touches nothing in AWS (as deleting Vault's config).
  },
};
