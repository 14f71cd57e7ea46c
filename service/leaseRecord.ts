// The lease record (ports.ts LeaseRecord) and the views derived from it.
import type { IssuedLease } from "../provider/types";
import type { LeaseProgram, LeaseRecord, LeaseStack } from "./ports";

/** The non-secret outputs of an AwsLease a record is built from. */
export type LeaseFacts = Pick<
  IssuedLease,
  "leaseId" | "credentialType" | "issuedAt" | "expiresAt" | "leaseDuration" | "renewable" | "username" | "arn" | "sessionRevocation"
>;

/** The record a lease stack exports: its facts and what renew needs, never a secret (not even the MFA code). */
export function leaseRecord(facts: LeaseFacts, program: LeaseProgram): LeaseRecord {
  return {
    leaseId: facts.leaseId,
    credentialType: facts.credentialType,
    issuedAt: facts.issuedAt,
    expiresAt: facts.expiresAt,
    leaseDuration: facts.leaseDuration,
    renewable: facts.renewable,
    username: facts.username,
    arn: facts.arn,
    ...(facts.sessionRevocation ? { sessionRevocation: facts.sessionRevocation } : {}),
    mount: program.mount.mount,
    role: program.role.name,
    roleSettings: program.role,
    request: { ...program.request, mfaCode: undefined },
    ...(program.reuseKey ? { reuseKey: program.reuseKey } : {}),
  };
}

/** A row of `lease list` / `lease lookup`: the record without the role and request. */
export type LeaseSummary = Omit<LeaseRecord, "roleSettings" | "request" | "reuseKey" | "sessionRevocation"> & { expired: boolean };

export function leaseSummary(r: LeaseRecord, now: number): LeaseSummary {
  const { roleSettings: _role, request: _request, reuseKey: _reuse, sessionRevocation: _revocation, ...facts } = r;
  return { ...facts, expired: Date.parse(r.expiresAt) <= now };
}

/** A stack's lease record, marked pending while an engine run holds the stack. */
export function recordOf(stack: LeaseStack): LeaseRecord | undefined {
  return stack.record && stack.locked ? { ...stack.record, pending: true } : stack.record;
}

/** A lease stack without a record, as `lease list` shows it: an issue running now (locked) or one that was killed. */
export type UnfinishedIssue = Omit<LeaseStack, "record"> & { mount: string };

/** The secret part of Vault's answer to `read aws/creds/ROLE`: session_token and the deprecated security_token carry the same STS token, as in Vault. */
export function vaultSecretData(lease: IssuedLease): Record<string, string | null> {
  const token = lease.sessionToken ?? null;
  return { access_key: lease.accessKey, secret_key: lease.secretKey, session_token: token, security_token: token, arn: lease.arn ?? null };
}
