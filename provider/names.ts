// Names, in one place: the mount-name rule, lease ids (Vault's shape
// `<mount>/creds/<role>/<id>` for iam_user, `<mount>/sts/<role>/<id>` otherwise) and
// the stack names of the lease table, with one parser for each.
// No AWS SDK here: the CLI names a lease's stack before anything is issued.
import { randomInt } from "node:crypto";
import { ValidationError } from "./errors";
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

/** A random 24-character alphanumeric id, the last part of a lease id (as Vault's). */
export function randomLeaseSuffix(): string {
  let id = "";
  for (let i = 0; i < LEASE_ID_LENGTH; i++) id += LEASE_ID_ALPHABET[randomInt(LEASE_ID_ALPHABET.length)];
  return id;
}

export function leaseIdFor(mount: string, role: Pick<RoleSettings, "name" | "credentialType">, suffix: string): string {
  const path = role.credentialType === "iam_user" ? "creds" : "sts";
  return `${mount}/${path}/${role.name}/${suffix}`;
}

export function parseLeaseId(leaseId: string): { mount: string; kind: string; role: string; id: string } {
  const m = /^([a-zA-Z0-9_-]{1,64})\/(creds|sts)\/([\w+=,.@-]+)\/([a-zA-Z0-9]+)$/.exec(leaseId);
  if (!m) throw new ValidationError([{ field: "lease_id", reason: `malformed lease id "${leaseId}" (want <mount>/creds|sts/<role>/<id>)` }]);
  return { mount: m[1], kind: m[2], role: m[3], id: m[4] };
}

/** The suffix of a lease id, or undefined when it is not one (e.g. a tag someone else wrote). */
export function leaseSuffixOf(leaseId: string | undefined): string | undefined {
  if (leaseId === undefined) return undefined;
  try {
    return parseLeaseId(leaseId).id;
  } catch {
    return undefined;
  }
}

/** Control stack of a mount: its engine config and roles. */
export function controlStackName(mount: string): string {
  return `mount-${mount}`;
}

/** Each lease is its own stack: parallel issues never wait on one lock. */
export function leaseStackName(mount: string, id: string): string {
  return `lease-${mount}-${id}`;
}

/**
 * The mount and lease suffix of a lease stack name, or undefined for any other stack.
 * The suffix has no "-", so the mount is everything up to the last "-": mount `a`
 * never matches the leases of mount `a-b`.
 */
export function parseLeaseStackName(stackName: string): { mount: string; id: string } | undefined {
  const m = /^lease-(.+)-([a-zA-Z0-9]+)$/.exec(stackName);
  if (!m || !MOUNT_NAME_PATTERN.test(m[1])) return undefined;
  return { mount: m[1], id: m[2] };
}
