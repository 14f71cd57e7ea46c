// Plain data shapes shared by the resources, the AWS module and the CLI.
// Durations are whole seconds once validated; 0 means "not set".

export const CREDENTIAL_TYPES = ["iam_user", "assumed_role", "federation_token", "session_token"] as const;
export type CredentialType = (typeof CREDENTIAL_TYPES)[number];

/** Engine settings (Vault `config/root` + `config/lease`), as every AWS call receives them. */
export interface MountSettings {
  /** Name used in lease ids and IAM user tags (Vault's mount path). */
  mount: string;
  /** Static root credentials; when absent the AWS SDK default chain is used at call time. */
  accessKey?: string;
  secretKey?: string;
  region: string;
  iamEndpoint?: string;
  stsEndpoint?: string;
  /** Used only together with stsEndpoint (as in Vault). */
  stsRegion?: string;
  /** -1 = SDK default. */
  maxRetries: number;
  usernameTemplate?: string;
  /** Default and maximum TTL of iam_user leases, seconds. */
  leaseSeconds: number;
  leaseMaxSeconds: number;
  /**
   * Random id of the lease table this engine belongs to, made when the engine is
   * created and kept in its state. Every IAM user is tagged with it, so `sweep` never
   * touches the users of another table on the same account and mount name.
   */
  tableId?: string;
  /**
   * How a revoke ends an assumed_role or federation_token lease: "deny" (default) puts
   * a Deny for the session's aws:userid into an inline policy of the role or IAM user
   * behind it (aws/sessionDeny.ts); "none" leaves the credentials valid until expiry.
   */
  stsRevocation?: StsRevocation;
}

export const STS_REVOCATION_MODES = ["deny", "none"] as const;
export type StsRevocation = (typeof STS_REVOCATION_MODES)[number];

/**
 * Where a revoke denies an STS session: the role it assumed, or the IAM user that
 * called GetFederationToken; sessionId is the session's aws:userid
 * (`<RoleId>:<session name>`, `<account>:<federated name>`).
 */
export interface SessionRevocation {
  principal: "role" | "user";
  name: string;
  sessionId: string;
}

/**
 * Which AWS account and API an engine talks to, from its arguments (known in preview,
 * unlike its settings output): a lease is replaced only when this changes.
 */
export interface MountIdentity {
  mount: string;
  region?: string | null;
  iamEndpoint?: string | null;
  stsEndpoint?: string | null;
  stsRegion?: string | null;
}

/** A role (Vault `roles/:name`) after validation and normalisation. */
export interface RoleSettings {
  name: string;
  credentialType: CredentialType;
  /** Compact JSON, or undefined. */
  policyDocument?: string;
  policyArns: string[];
  roleArns: string[];
  iamGroups: string[];
  iamTags: Record<string, string>;
  defaultStsTtl: number;
  maxStsTtl: number;
  /** Default "/". */
  userPath: string;
  permissionsBoundaryArn?: string;
  mfaSerialNumber?: string;
  sessionTags: Record<string, string>;
  externalId?: string;
}

/** Per-issue parameters (Vault `creds/:name` / `sts/:name`). */
export interface LeaseRequest {
  /** Requested TTL in seconds; 0 = role/engine default. */
  ttl: number;
  roleArn?: string;
  roleSessionName?: string;
  mfaCode?: string;
  /** Poll until the new IAM user key works (default true). */
  waitUntilUsable: boolean;
  /** The username template's `.DisplayName`; default: the mount. */
  displayName?: string;
}

/** What an issue returns: the lease's outputs. */
export interface IssuedLease {
  leaseId: string;
  credentialType: CredentialType;
  accessKey: string;
  secretKey: string;
  sessionToken?: string;
  arn?: string;
  /** IAM user name (iam_user) or the STS session / federation name. */
  username?: string;
  /** assumed_role, federation_token: whom a revoke denies the session on (not in leases issued before awslease 0.2). */
  sessionRevocation?: SessionRevocation;
  issuedAt: string;
  expiresAt: string;
  leaseDuration: number;
  renewable: boolean;
  /** Notes for the user, e.g. a TTL that was clamped to AWS limits. */
  warnings: string[];
}

/**
 * Environment variable through which the CLI hands a mount's current settings (root
 * keys after rotate-root) to the provider for revoke and read of older leases.
 */
export const MOUNT_SETTINGS_ENV = "AWSLEASE_MOUNT_SETTINGS";
