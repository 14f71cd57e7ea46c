// AwsRole: Vault's `roles/:name`. A role is configuration only: creating it calls no
// AWS API. Its validated settings (and, in memory only, the engine it belongs to)
// are what a lease issues credentials from.
import * as pulumi from "@pulumi/pulumi";
import { shimProvider } from "./shim";
import type { CredentialType, MountIdentity, MountSettings, RoleSettings } from "./types";
import { validateRole, type RoleInput } from "./validation";
import { checkFailures, hasUnknowns, plain } from "./checks";
import type { AwsEngineConfig } from "./engineConfig";

export interface AwsRoleArgs {
  engine: AwsEngineConfig;
  /** Role name used in lease ids and policy names; default: the resource name. */
  name?: pulumi.Input<string>;
  credentialType: pulumi.Input<CredentialType>;
  /** IAM policy document: an object or a JSON string (stored compacted). */
  policyDocument?: pulumi.Input<string | object>;
  policyArns?: pulumi.Input<pulumi.Input<string>[]>;
  /** assumed_role only. */
  roleArns?: pulumi.Input<pulumi.Input<string>[]>;
  iamGroups?: pulumi.Input<pulumi.Input<string>[]>;
  /** iam_user only: tags put on every user. */
  iamTags?: pulumi.Input<Record<string, string> | string[]>;
  /** STS types: seconds or a duration ("15m"). */
  defaultStsTtl?: pulumi.Input<string | number>;
  maxStsTtl?: pulumi.Input<string | number>;
  /** iam_user only, default "/". */
  userPath?: pulumi.Input<string>;
  /** iam_user only. */
  permissionsBoundaryArn?: pulumi.Input<string>;
  /** session_token only: an MFA code is then required at issue. */
  mfaSerialNumber?: pulumi.Input<string>;
  /** assumed_role only. */
  sessionTags?: pulumi.Input<Record<string, string> | string[]>;
  /** assumed_role only. */
  externalId?: pulumi.Input<string>;
}

/** What a lease needs from its role: AwsRole satisfies it; the CLI passes plain values. */
export interface RoleRef {
  settings: pulumi.Input<RoleSettings>;
  engineSettings: pulumi.Input<MountSettings>;
  /** Default: derived from engineSettings. */
  engineIdentity?: pulumi.Input<MountIdentity>;
}

export class AwsRole extends pulumi.dynamic.Resource implements RoleRef {
  declare readonly settings: pulumi.Output<RoleSettings>;
  declare readonly roleName: pulumi.Output<string>;
  /** The engine's settings and identity (not stored in the role's state). */
  readonly engineSettings: pulumi.Output<MountSettings>;
  readonly engineIdentity: pulumi.Output<MountIdentity>;

  constructor(name: string, args: AwsRoleArgs, opts?: pulumi.CustomResourceOptions) {
    const { engine, name: roleName, ...fields } = args;
    super(
      shimProvider("role"),
      name,
      { roleName: roleName ?? name, input: fields, settings: undefined },
      { ...opts, dependsOn: [engine, ...toArray(opts?.dependsOn)] },
      "awslease",
      "AwsRole",
    );
    this.engineSettings = engine.settings;
    this.engineIdentity = engine.identity;
  }
}

function toArray<T>(v: pulumi.Input<T[]> | pulumi.Input<T> | undefined): T[] {
  if (v === undefined) return [];
  return (Array.isArray(v) ? v : [v]) as T[];
}

// ---- provider operations (run in the provider process via the shim) ----

/** The role provider's inputs (as AwsRole sets them) and its stored outputs. */
export interface RoleInputs {
  roleName: string;
  input: RoleInput;
}
export interface RoleState extends RoleInputs {
  settings: RoleSettings;
}

export const roleOperations: pulumi.dynamic.ResourceProvider<RoleInputs, RoleState> = {
  async check(_olds, news) {
    return checkFailures(news, () => {
      if (hasUnknowns(news.roleName) || hasUnknowns(news.input)) return;
      validateRole(news.roleName, news.input);
    });
  },

  async diff(_id, olds, news) {
    // A new serialized shim (__provider) alone is no change (see the engine's diff):
    // updating would make the settings unknown in preview, which shows leases replaced.
    const changed = JSON.stringify(olds.input) !== JSON.stringify(news.input) || olds.roleName !== news.roleName;
    return { changes: changed, replaces: olds.roleName !== news.roleName ? ["roleName"] : [] };
  },

  async create(inputs) {
    const settings = validateRole(inputs.roleName, inputs.input);
    return { id: settings.name, outs: plain({ roleName: inputs.roleName, input: inputs.input, settings }) };
  },

  async read(id, state) {
    return { id, props: state };
  },

  async update(_id, _olds, news) {
    const settings = validateRole(news.roleName, news.input);
    return { outs: plain({ roleName: news.roleName, input: news.input, settings }) };
  },

  async delete() {
    // As in Vault, deleting a role revokes nothing by itself; in a Pulumi program
    // its leases depend on it and are deleted (revoked) first.
  },
};
