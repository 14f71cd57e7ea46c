// One record per credential type: how a lease of it is named, how long it lives, what
// renew and revoke can do, and AWS's limits for it. The AWS side of each (issue,
// revoke, renew, check) is in aws/leases.ts's LEASE_OPERATIONS, by the same key.
import { EXPIRY_POLICY_SIZE } from "./expiryPolicy";
import { CREDENTIAL_TYPES, type CredentialType } from "./types";
import { ValidationError } from "./errors";

/** AWS: the inline policies of one IAM user total at most 2,048 characters (whitespace not counted). */
export const IAM_USER_INLINE_POLICIES_MAX = 2048;
/** What is left of that quota for a role's policy document next to the expiry policy. */
export const IAM_USER_POLICY_DOCUMENT_MAX = IAM_USER_INLINE_POLICIES_MAX - EXPIRY_POLICY_SIZE;
/** AWS: an inline session policy (AssumeRole, GetFederationToken) has at most 2,048 characters. */
export const STS_SESSION_POLICY_MAX = 2048;
/** TTL of STS credentials when neither the request nor the role sets one (Vault's default). */
export const DEFAULT_STS_TTL_SECONDS = 3600;

export interface CredentialTypeRules {
  /** The lease id's path, as Vault's: `<mount>/creds/<role>/<key>` or `<mount>/sts/<role>/<key>`. */
  leasePath: "creds" | "sts";
  /** Renew moves the expiry (an IAM user's tag and deny policy); STS credentials end at their AWS expiry. */
  renewable: boolean;
  /** Revoke makes the credentials stop working; STS credentials cannot be revoked one by one. */
  revocable: boolean;
  /**
   * Where the TTL comes from: the mount's lease settings (iam_user), or the role's STS
   * TTLs clamped to what the AWS call accepts (DurationSeconds).
   */
  ttl: { from: "mount lease" } | { from: "sts"; minSeconds: number; maxSeconds: number };
  /** The longest policy document, and why, for the error message. */
  policyDocument: { max: number; limit: string };
}

const stsPolicy = { max: STS_SESSION_POLICY_MAX, limit: `an STS session policy may have at most ${STS_SESSION_POLICY_MAX}` };

export const CREDENTIAL_TYPE_RULES: Readonly<Record<CredentialType, CredentialTypeRules>> = {
  iam_user: {
    leasePath: "creds",
    renewable: true,
    revocable: true,
    ttl: { from: "mount lease" },
    policyDocument: {
      max: IAM_USER_POLICY_DOCUMENT_MAX,
      limit:
        `an IAM user's inline policies may total ${IAM_USER_INLINE_POLICIES_MAX}, ` +
        `and awslease's expiry policy takes ${EXPIRY_POLICY_SIZE}, so at most ${IAM_USER_POLICY_DOCUMENT_MAX}`,
    },
  },
  assumed_role: { leasePath: "sts", renewable: false, revocable: false, ttl: { from: "sts", minSeconds: 900, maxSeconds: 43_200 }, policyDocument: stsPolicy },
  federation_token: {
    leasePath: "sts",
    renewable: false,
    revocable: false,
    ttl: { from: "sts", minSeconds: 900, maxSeconds: 129_600 },
    policyDocument: stsPolicy,
  },
  session_token: {
    leasePath: "sts",
    renewable: false,
    revocable: false,
    ttl: { from: "sts", minSeconds: 900, maxSeconds: 129_600 },
    policyDocument: stsPolicy,
  },
};

/** The rules of a credential type; an unknown one (e.g. from a hand-edited state) is a validation error. */
export function rulesOf(type: CredentialType): CredentialTypeRules {
  const rules = CREDENTIAL_TYPE_RULES[type];
  if (!rules) throw ValidationError.of("credentialType", `unknown credential type ${JSON.stringify(type)}`);
  return rules;
}

/** The types whose TTL is an STS DurationSeconds (the roles' defaultStsTtl and maxStsTtl apply). */
export const STS_TTL_TYPES: readonly CredentialType[] = CREDENTIAL_TYPES.filter((t) => CREDENTIAL_TYPE_RULES[t].ttl.from === "sts");
