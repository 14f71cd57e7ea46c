// Names, in one place: the mount-name rule, lease ids (Vault's shape
// `<mount>/creds/<role>/<id>` for iam_user, `<mount>/sts/<role>/<id>` otherwise) and
// the stack names of the lease table, with one parser for each.
// No AWS SDK here: the CLI names a lease's stack before anything is issued.
import { randomInt } from "node:crypto";
import { ValidationError } from "./errors";
import { rulesOf } from "./credentialTypes";
import type { RoleSettings } from "./types";

/**
 * A mount name: letters, digits, "_" and "-", at most 64 characters. It is part of
 * stack names (`lease-<mount>-<id>`, Pulumi allows 100 characters) and of lease ids.
 */
export const MOUNT_NAME_PATTERN = /^[a-zA-Z0-9_-]{1,64}$/;

/** Why `name` is not a valid mount name, or undefined when it is. */
export function mountNameProblem(name: unknown): string | undefined {
  if (typeof name === "string" && MOUNT_NAME_PATTERN.test(name)) return undefined;
  return `${JSON.stringify(name)} is not a mount name (1-64 letters, digits, "_" and "-")`;
}

const LEASE_ID_ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
const LEASE_ID_LENGTH = 24;

/**
 * The lease key: a random 24-character alphanumeric id, the last part of a lease id
 * (as Vault's) and of its stack's name. AwsLease's `leaseKey` argument sets it.
 */
export function randomLeaseKey(): string {
  let id = "";
  for (let i = 0; i < LEASE_ID_LENGTH; i++) id += LEASE_ID_ALPHABET[randomInt(LEASE_ID_ALPHABET.length)];
  return id;
}

export function leaseIdFor(mount: string, role: Pick<RoleSettings, "name" | "credentialType">, key: string): string {
  const path = rulesOf(role.credentialType).leasePath;
  return `${mount}/${path}/${role.name}/${key}`;
}

export function parseLeaseId(leaseId: string): { mount: string; kind: string; role: string; key: string } {
  const m = /^([a-zA-Z0-9_-]{1,64})\/(creds|sts)\/([\w+=,.@-]+)\/([a-zA-Z0-9]+)$/.exec(leaseId);
  if (!m) throw new ValidationError([{ field: "lease_id", reason: `malformed lease id "${leaseId}" (want <mount>/creds|sts/<role>/<id>)` }]);
  return { mount: m[1], kind: m[2], role: m[3], key: m[4] };
}

/** The key of a lease id, or undefined when it is not one (e.g. a tag someone else wrote). */
export function leaseKeyOf(leaseId: string | undefined): string | undefined {
  if (leaseId === undefined) return undefined;
  try {
    return parseLeaseId(leaseId).key;
  } catch {
    return undefined;
  }
}

/** Control stack of a mount: its engine config and roles. */
export function controlStackName(mount: string): string {
  return `mount-${mount}`;
}

/** The mount of a control stack name, or undefined for any other stack. */
export function parseControlStackName(stackName: string): string | undefined {
  const m = /^mount-(.+)$/.exec(stackName);
  return m && MOUNT_NAME_PATTERN.test(m[1]) ? m[1] : undefined;
}

/** Each lease is its own stack: parallel issues never wait on one lock. */
export function leaseStackName(mount: string, key: string): string {
  return `lease-${mount}-${key}`;
}

/**
 * The mount and lease key of a lease stack name, or undefined for any other stack.
 * The key has no "-", so the mount is everything up to the last "-": mount `a`
 * never matches the leases of mount `a-b`.
 */
export function parseLeaseStackName(stackName: string): { mount: string; key: string } | undefined {
  const m = /^lease-(.+)-([a-zA-Z0-9]+)$/.exec(stackName);
  if (!m || !MOUNT_NAME_PATTERN.test(m[1])) return undefined;
  return { mount: m[1], key: m[2] };
}

/**
 * A static role's stack: `static-<mount>.<name>`. "." cannot be in a mount name, so
 * mount `a` never matches the static roles of mount `a-b`. Stack names allow only
 * letters, digits, "-", "_" and ".", so any other character of the role name (and "_")
 * is written `_XX` (hex).
 */
export function staticRoleStackName(mount: string, name: string): string {
  return `static-${mount}.${name.replace(/[^A-Za-z0-9.-]/g, (c) => `_${c.charCodeAt(0).toString(16).padStart(2, "0")}`)}`;
}

/** The mount and static role name of a static role's stack, or undefined for any other stack. */
export function parseStaticRoleStackName(stackName: string): { mount: string; name: string } | undefined {
  const m = /^static-([^.]+)\.(.+)$/.exec(stackName);
  if (!m || !MOUNT_NAME_PATTERN.test(m[1]) || !/^([A-Za-z0-9.-]|_[0-9a-f]{2})+$/.test(m[2])) return undefined;
  return { mount: m[1], name: m[2].replace(/_([0-9a-f]{2})/g, (_, hex: string) => String.fromCharCode(parseInt(hex, 16))) };
}

/** The mount a lease or static role stack belongs to. */
export function mountOfStack(stackName: string): string | undefined {
  return parseLeaseStackName(stackName)?.mount ?? parseStaticRoleStackName(stackName)?.mount;
}

/** The name a role ARN ends in (`arn:aws:iam::ACCOUNT:role/path/NAME`), as PutRolePolicy takes it. */
export function roleNameOfArn(arn: string): string {
  return arn.split("/").pop()!;
}

/** The IAM user an ARN names, or undefined for any other identity (the account root, a role session). */
export function iamUserNameOfArn(arn: string): string | undefined {
  return /^arn:[^:]+:iam::\d+:user\//.test(arn) ? arn.split("/").pop() : undefined;
}
