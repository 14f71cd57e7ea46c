// One record per credential type: how a lease of it is named, how long it lives, what
// renew and revoke can do, and AWS's limits for it. The AWS side of each (issue,
// revoke, renew, check) is in aws/leases.ts's LEASE_OPERATIONS, by the same key.
import { EXPIRY_POLICY_SIZE } from "./expiryPolicy";
import { CREDENTIAL_TYPES, type CredentialType, type MountSettings, type SessionRevocation } from "./types";
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
  /**
   * What a revoke does in AWS: delete the IAM user (which can also be found gone), deny
   * the session by its aws:userid on the role or user behind it (aws/sessionDeny.ts), or
   * nothing: a GetSessionToken session has the caller's own aws:userid, so it cannot be
   * told apart from the caller, and stays valid until its expiry.
   */
  revoke: "delete-user" | "deny-session" | "expires";
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
    revoke: "delete-user",
    ttl: { from: "mount lease" },
    policyDocument: {
      max: IAM_USER_POLICY_DOCUMENT_MAX,
      limit:
        `an IAM user's inline policies may total ${IAM_USER_INLINE_POLICIES_MAX}, ` +
        `and awslease's expiry policy takes ${EXPIRY_POLICY_SIZE}, so at most ${IAM_USER_POLICY_DOCUMENT_MAX}`,
    },
  },
  assumed_role: {
    leasePath: "sts",
    renewable: false,
    revoke: "deny-session",
    ttl: { from: "sts", minSeconds: 900, maxSeconds: 43_200 },
    policyDocument: stsPolicy,
  },
  federation_token: {
    leasePath: "sts",
    renewable: false,
    revoke: "deny-session",
    ttl: { from: "sts", minSeconds: 900, maxSeconds: 129_600 },
    policyDocument: stsPolicy,
  },
  session_token: {
    leasePath: "sts",
    renewable: false,
    revoke: "expires",
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

/**
 * Why a revoke would leave this lease's credentials valid until their AWS expiry, or
 * undefined when it ends them. One answer for the provider's revoke and the service's
 * warnings.
 */
export function revokeLeavesValid(
  lease: { credentialType: string; sessionRevocation?: SessionRevocation },
  mount: Pick<MountSettings, "stsRevocation">,
): string | undefined {
  const how = rulesOf(lease.credentialType as CredentialType).revoke;
  if (how === "delete-user") return undefined;
  if (how === "expires") return "a session_token session cannot be told apart from its caller in AWS policies";
  if (mount.stsRevocation === "none") return "the mount's sts_revocation is none";
  if (!lease.sessionRevocation) return "the lease was issued before awslease recorded session ids";
  return undefined;
}
