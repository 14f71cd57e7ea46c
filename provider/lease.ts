// AwsLease: Vault's `creds/:name` / `sts/:name` plus lease renew and revoke.
// create = issue, read = check, update = renew, delete = revoke. The stack state is
// the lease table: `pulumi destroy` revokes.
import * as pulumi from "@pulumi/pulumi";
import { shimProvider } from "./shim";
import type { CredentialType, MountIdentity, MountSettings, IssuedLease, RoleSettings, SessionRevocation } from "./types";
import { MOUNT_SETTINGS_ENV } from "./types";
import { validateLease, checkIssueRequest, type LeaseInput } from "./validation";
import { checkFailures, hasUnknowns, plain } from "./checks";
import { rulesOf } from "./credentialTypes";
import type * as awsLeases from "./aws/leases";
import { withAwsClients } from "./aws/clients";
import type { RoleRef } from "./role";

export interface AwsLeaseArgs {
  /** An AwsRole (or any { settings, engineSettings }). */
  role: RoleRef;
  /** Seconds or a duration ("15m", "1h30m"); default: the role's / engine's default. */
  ttl?: pulumi.Input<string | number>;
  /** assumed_role: which of the role's roleArns to assume (optional when it has one). */
  roleArn?: pulumi.Input<string>;
  roleSessionName?: pulumi.Input<string>;
  /** session_token with an MFA serial: the current code. */
  mfaCode?: pulumi.Input<string>;
  /** Wait until new IAM user keys work before finishing create (default true). */
  waitUntilUsable?: pulumi.Input<boolean>;
  /** The username template's `.DisplayName` (Vault: the token's display name); default: the mount. */
  displayName?: pulumi.Input<string>;
  /** The random part of the lease id; default: generated at issue. */
  leaseKey?: pulumi.Input<string>;
  /**
   * Change this value to renew the lease (iam_user only) by `ttl` from now, as
   * `vault lease renew -increment=<ttl>` does. Any string, e.g. a timestamp.
   */
  renewal?: pulumi.Input<string>;
}

/** What the engine hands the lease provider: the resource's inputs, as AwsLease sets them. */
export interface LeaseInputs {
  engine: MountSettings;
  engineIdentity?: MountIdentity;
  role: RoleSettings;
  request?: LeaseInput;
  renewal?: string;
  leaseKey?: string;
  /** The serialized provider (the engine adds it). */
  __provider?: string;
}

/** Stored outputs of a lease. */
export interface LeaseState extends IssuedLease {
  engine: MountSettings;
  engineIdentity?: MountIdentity;
  role: RoleSettings;
  request: LeaseInput;
  renewal?: string;
  leaseKey?: string;
  __provider?: string;
}

export { MOUNT_SETTINGS_ENV };

export class AwsLease extends pulumi.dynamic.Resource {
  declare readonly leaseId: pulumi.Output<string>;
  declare readonly credentialType: pulumi.Output<CredentialType>;
  declare readonly accessKey: pulumi.Output<string>;
  /** Secret. */
  declare readonly secretKey: pulumi.Output<string>;
  /** Secret; set for the STS credential types. */
  declare readonly sessionToken: pulumi.Output<string | undefined>;
  declare readonly arn: pulumi.Output<string | undefined>;
  declare readonly username: pulumi.Output<string | undefined>;
  /** assumed_role, federation_token: the session's aws:userid and the role or user a revoke denies it on. */
  declare readonly sessionRevocation: pulumi.Output<SessionRevocation | undefined>;
  declare readonly issuedAt: pulumi.Output<string>;
  declare readonly expiresAt: pulumi.Output<string>;
  declare readonly leaseDuration: pulumi.Output<number>;
  declare readonly renewable: pulumi.Output<boolean>;
  declare readonly warnings: pulumi.Output<string[]>;

  constructor(name: string, args: AwsLeaseArgs, opts?: pulumi.CustomResourceOptions) {
    const request = {
      ttl: args.ttl,
      roleArn: args.roleArn,
      roleSessionName: args.roleSessionName,
      mfaCode: args.mfaCode,
      waitUntilUsable: args.waitUntilUsable,
      displayName: args.displayName,
    };
    super(
      shimProvider("lease"),
      name,
      {
        engine: pulumi.secret(args.role.engineSettings),
        engineIdentity: args.role.engineIdentity ?? pulumi.output(args.role.engineSettings).apply(identityOf),
        role: args.role.settings,
        request,
        renewal: args.renewal,
        leaseKey: args.leaseKey,
        leaseId: undefined,
        credentialType: undefined,
        accessKey: undefined,
        secretKey: undefined,
        sessionToken: undefined,
        arn: undefined,
        username: undefined,
        sessionRevocation: undefined,
        issuedAt: undefined,
        expiresAt: undefined,
        leaseDuration: undefined,
        renewable: undefined,
        warnings: undefined,
      },
      {
        ...opts,
        dependsOn: [...(args.role instanceof pulumi.Resource ? [args.role] : []), ...toArray(opts?.dependsOn)],
        additionalSecretOutputs: ["secretKey", "sessionToken", "engine"],
      },
      "awslease",
      "AwsLease",
    );
  }
}

function toArray<T>(v: pulumi.Input<T[]> | pulumi.Input<T> | undefined): T[] {
  if (v === undefined) return [];
  return (Array.isArray(v) ? v : [v]) as T[];
}

// ---- provider operations (run in the provider process via the shim) ----

/**
 * The AWS side, loaded when an operation runs: a program that only declares leases
 * (the CLI's inline programs, users' programs) never loads the AWS SDK.
 */
function aws(): typeof awsLeases {
  return require("./aws/leases");
}

/** Mounts' current settings, told to a long-running provider process (the server's warm provider) before a revoke. */
const currentMountSettings = new Map<string, MountSettings>();

export function setCurrentMountSettings(settings: MountSettings): void {
  currentMountSettings.set(settings.mount, settings);
}

/**
 * The engine settings to revoke or check with. After rotate-root the stored root key
 * no longer exists; the CLI then passes the current settings of the same mount (in
 * the provider's environment, or to a warm provider by setCurrentMountSettings).
 */
export function effectiveEngine(stored: MountSettings, env: NodeJS.ProcessEnv = process.env): MountSettings {
  const raw = env[MOUNT_SETTINGS_ENV];
  if (!raw) return currentMountSettings.get(stored.mount) ?? stored;
  try {
    const override = JSON.parse(raw) as MountSettings;
    return override.mount === stored.mount ? override : stored;
  } catch {
    return stored;
  }
}

/** A lease with less than this left is replaced by the next `up`: 20% of its duration, at least a minute. */
export function needsReplacement(lease: Pick<IssuedLease, "expiresAt" | "leaseDuration">, now = Date.now()): boolean {
  const remaining = (Date.parse(lease.expiresAt) - now) / 1000;
  return remaining < Math.max(60, lease.leaseDuration * 0.2);
}

/** Engine fields that point at a different AWS account or API: changing them makes a new lease. */
const ENGINE_IDENTITY = ["mount", "region", "iamEndpoint", "stsEndpoint", "stsRegion"] as const;

export function identityOf(engine: MountSettings): MountIdentity {
  // The same keys as ENGINE_IDENTITY, each null when unset (the stored identities compare as JSON).
  return {
    mount: engine.mount,
    region: engine.region ?? null,
    iamEndpoint: engine.iamEndpoint ?? null,
    stsEndpoint: engine.stsEndpoint ?? null,
    stsRegion: engine.stsRegion ?? null,
  };
}

/**
 * Does the lease now point at another AWS account or API? Compared on the identity
 * from the engine's arguments when there is one (the settings output is unknown in a
 * preview that updates the engine, which would otherwise show every lease replaced).
 */
function engineIdentityChanged(old: LeaseState, news: LeaseInputs): boolean {
  if (old.engineIdentity && news.engineIdentity !== undefined && !hasUnknowns(news.engineIdentity)) {
    return differs(old.engineIdentity, news.engineIdentity);
  }
  const engine = news.engine as MountSettings | undefined;
  if (hasUnknowns(engine)) return false;
  return ENGINE_IDENTITY.some((key) => differs(old.engine?.[key], engine?.[key]));
}

function differs(a: unknown, b: unknown): boolean {
  return JSON.stringify(a ?? null) !== JSON.stringify(b ?? null);
}

function outputsOf(state: LeaseState): LeaseState {
  const { __provider: _provider, ...outs } = plain(state);
  return outs;
}

export const leaseOperations: pulumi.dynamic.ResourceProvider<LeaseInputs, LeaseState> = {
  async check(_olds, news) {
    return checkFailures(news, () => {
      if (hasUnknowns(news.request)) return;
      const request = validateLease(news.request ?? {});
      // The role's settings are unknown in a preview that creates or updates the role.
      if (news.role && !hasUnknowns(news.role)) checkIssueRequest(news.role, request);
    });
  },

  async diff(_id, old, news) {
    const replaces: string[] = [];
    if (differs(old.role, news.role)) replaces.push("role");
    if (engineIdentityChanged(old, news)) replaces.push("engine");
    const oldReq = old.request ?? {};
    const newReq: LeaseInput = news.request ?? {};
    for (const key of ["roleArn", "roleSessionName", "mfaCode"] as const) {
      if (differs(oldReq[key], newReq[key])) replaces.push(`request.${key}`);
    }
    if (differs(old.leaseKey, news.leaseKey)) replaces.push("leaseKey");
    const ttlChanged = differs(oldReq.ttl, newReq.ttl);
    const renewRequested = differs(old.renewal, news.renewal);
    // A new TTL renews what can be renewed; anything else needs a new lease.
    if (ttlChanged && !rulesOf(old.credentialType).renewable) replaces.push("request.ttl");
    const expired = Date.parse(old.expiresAt) <= Date.now();
    if (expired || (!renewRequested && needsReplacement(old))) replaces.push("expiresAt");

    const changes =
      replaces.length > 0 ||
      ttlChanged ||
      renewRequested ||
      differs(old.engine, news.engine) ||
      differs(oldReq.waitUntilUsable, newReq.waitUntilUsable) ||
      old.__provider !== news.__provider;
    return { changes, replaces: [...new Set(replaces)], deleteBeforeReplace: false };
  },

  async create(inputs) {
    const { engine, role } = inputs;
    const request = validateLease(inputs.request ?? {});
    const issued = await withAwsClients(engine, (clients) => aws().issueLease(clients, engine, role, request, { leaseKey: inputs.leaseKey || undefined }));
    const state: LeaseState = {
      ...issued,
      engine,
      role,
      request: inputs.request ?? {},
      renewal: inputs.renewal,
      leaseKey: inputs.leaseKey,
      engineIdentity: inputs.engineIdentity,
    };
    return { id: issued.leaseId, outs: plain(state) };
  },

  async read(id, state) {
    if (!state) return { id: "" };
    const status = await withAwsClients(effectiveEngine(state.engine), (clients) => aws().checkLease(clients, state));
    // Gone: `pulumi refresh` drops it. An expired STS lease leaves nothing to revoke.
    // An expired iam_user lease stays listed: its user still has to be deleted.
    if (status === "gone" || (status === "expired" && rulesOf(state.credentialType).revoke !== "delete-user")) return { id: "" };
    return { id, props: state };
  },

  async update(_id, old, news) {
    let state: LeaseState = {
      ...old,
      engine: news.engine,
      engineIdentity: news.engineIdentity,
      request: news.request ?? {},
      renewal: news.renewal,
    };
    const renewRequested = differs(old.renewal, news.renewal);
    if (rulesOf(old.credentialType).renewable && (renewRequested || differs(old.request?.ttl, news.request?.ttl))) {
      const request = validateLease(news.request ?? {});
      // The settings of this run's own inputs: the mount's current ones.
      const engine = state.engine;
      const renewed = await withAwsClients(engine, (clients) => aws().renewLease(clients, engine, old, request.ttl));
      state = { ...state, ...renewed, warnings: renewed.warnings };
    }
    return { outs: outputsOf(state) };
  },

  async delete(_id, state) {
    const engine = effectiveEngine(state.engine);
    const { message, warning } = await withAwsClients(engine, (clients) => aws().revokeLease(clients, state, engine));
    // The engine shows a provider's stdout in the run's diagnostics: say what revoke did,
    // e.g. that STS credentials stay valid until their expiry. No secret in it. A warning
    // line is read back by the CLI and the server (providerWarnings) and shown to the user.
    console.log(`awslease: ${state.leaseId}: ${message}`);
    if (warning) console.log(`awslease: ${state.leaseId}: warning: ${warning}`);
  },
};
