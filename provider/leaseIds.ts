// Lease ids, Vault's shape: `<mount>/creds/<role>/<id>` (iam_user) or `<mount>/sts/<role>/<id>`.
// No AWS SDK here: the CLI names a lease's stack before anything is issued.
import { randomInt } from "node:crypto";
import { ValidationError } from "./duration";
import type { RoleSettings } from "./types";

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
  const m = /^([a-zA-Z0-9_-]+)\/(creds|sts)\/([\w+=,.@-]+)\/([a-zA-Z0-9]+)$/.exec(leaseId);
  if (!m) throw new ValidationError([{ field: "lease_id", reason: `malformed lease id "${leaseId}" (want <mount>/creds|sts/<role>/<id>)` }]);
  return { mount: m[1], kind: m[2], role: m[3], id: m[4] };
}
