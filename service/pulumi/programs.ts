// The inline Pulumi programs the engine runs: a mount's control stack (one
// AwsEngineConfig and an AwsRole per role) and a lease stack (one AwsLease). Each
// captures its result in-process as the engine resolves it, so no `stack output` run
// is needed afterwards.
import type * as pulumiTypes from "@pulumi/pulumi";
import type { IssuedLease, RoleSettings } from "../../provider/types";
import { validateRole, type RoleInput } from "../../provider/validation";
import type { DesiredMount, LeaseProgram, MountConfig, MountState, StaticRoleProgram, StaticRoleRecord } from "../ports";
import { leaseRecord } from "../leaseRecord";

type PulumiFn = pulumiTypes.automation.PulumiFn;

/** A lease stack: one AwsLease; its record as an output, and (reusable leases) its credentials as a secret one. */
export function leaseProgram(args: LeaseProgram, onLease: (lease: IssuedLease) => void): PulumiFn {
  return async () => {
    const pulumi = require("@pulumi/pulumi") as typeof pulumiTypes;
    const { AwsLease } = require("../../provider") as typeof import("../../provider");
    const lease = new AwsLease("lease", {
      role: { settings: args.role, engineSettings: args.mount },
      leaseKey: args.key,
      ...args.request,
      renewal: args.renewal,
    });
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
      .apply((l) => onLease({ ...l, warnings: l.warnings ?? [] } as IssuedLease));
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
        sessionRevocation: lease.sessionRevocation,
      })
      .apply((facts) => leaseRecord(facts, args));
    // A lease that may be handed out again (credential-process) keeps its credentials
    // as a secret output, encrypted like the resource's own: the lease table is the
    // only store of them.
    if (!args.reuseKey) return { lease: record };
    const credentials = pulumi.secret(
      pulumi.output({ accessKey: lease.accessKey, secretKey: lease.secretKey, sessionToken: lease.sessionToken, region: args.mount.region }),
    );
    return { lease: record, credentials };
  };
}

/** A mount's control stack: its config (once written) and its roles. */
export function mountProgram(mount: string, desired: DesiredMount, onState: (state: MountState) => void): PulumiFn {
  return async () => {
    const pulumi = require("@pulumi/pulumi") as typeof pulumiTypes;
    const { AwsEngineConfig, AwsRole } = require("../../provider") as typeof import("../../provider");
    if (!desired.config) {
      // No config yet: roles are kept as validated settings, and become AwsRole
      // resources with the first `config write`.
      const roles = Object.fromEntries(Object.entries(desired.roles).map(([name, input]) => [name, { input, settings: validateRole(name, input) }]));
      onState({ roles });
      return { roles };
    }
    const engine = new AwsEngineConfig(mount, { ...desired.config, mount, rotateRootTrigger: desired.rotateRootTrigger });
    const roles: Record<string, pulumiTypes.Output<{ input: RoleInput; settings: RoleSettings }>> = {};
    for (const [name, input] of Object.entries(desired.roles)) {
      const role = new AwsRole(`role-${name}`, {
        engine,
        name,
        ...(input as Omit<RoleInput, "credentialType">),
        credentialType: input.credentialType as never,
      });
      roles[name] = role.settings.apply((settings) => ({ input, settings }));
    }
    const configInput = desired.config;
    const config = pulumi
      .all([engine.settings, engine.accountId, engine.callerArn, engine.rotatedAt])
      .apply(([settings, accountId, callerArn, rotatedAt]): MountConfig => ({
        input: configInput,
        settings,
        accountId,
        callerArn,
        rotatedAt,
        rotateRootTrigger: desired.rotateRootTrigger,
      }));
    const rolesOut = pulumi.all(roles);
    pulumi.all([config, rolesOut]).apply(([c, r]) => onState({ config: c, roles: r }));
    // The output keeps its first name, `engine`: control stacks written before read back the same.
    return { engine: pulumi.secret(config), roles: rolesOut };
  };
}

/**
 * A static role's stack: one AwsStaticRole. Its record is a plain output (no secret key),
 * its credentials a secret one: `static-creds` reads them from the table.
 */
export function staticRoleProgram(args: StaticRoleProgram, onRecord: (record: StaticRoleRecord) => void): PulumiFn {
  return async () => {
    const pulumi = require("@pulumi/pulumi") as typeof pulumiTypes;
    const { AwsStaticRole } = require("../../provider") as typeof import("../../provider");
    const role = new AwsStaticRole("static-role", {
      engine: args.mount,
      name: args.name,
      username: args.input.username as string,
      rotationPeriod: args.input.rotationPeriod as string | number,
      rotation: args.rotation,
    });
    const record = pulumi
      .all([role.settings, role.userId, role.accessKey, role.retiredKey, role.rotatedAt, role.expiration, role.keyMissing])
      .apply(([settings, userId, accessKey, retiredKey, rotatedAt, expiration, keyMissing]): StaticRoleRecord => ({
        mount: args.mount.mount,
        name: settings.name,
        username: settings.username,
        userId,
        rotationPeriod: settings.rotationPeriod,
        accessKey,
        ...(retiredKey ? { retiredKey } : {}),
        rotatedAt,
        expiration,
        ...(keyMissing ? { keyMissing: true } : {}),
        ...(args.rotation ? { rotation: args.rotation } : {}),
      }));
    record.apply(onRecord);
    const credentials = pulumi.secret(
      pulumi.output({ accessKey: role.accessKey, secretKey: role.secretKey, expiration: role.expiration, region: args.mount.region }),
    );
    return { staticRole: record, credentials };
  };
}
