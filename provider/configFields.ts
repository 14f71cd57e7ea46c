// One table of a mount's config fields (Vault's config/root and config/lease). Each row
// gives the field's name in a Pulumi program (EngineConfigInput / AwsEngineConfigArgs),
// in Vault's JSON, and as a CLI flag; which Vault endpoint holds it; its kind; and a
// one-line description. It drives `config write`'s flags, the server's config/root and
// config/lease bodies (mountConfigFromVaultJson) and answers (configView).
import type { EngineConfigInput } from "./validation";

export interface ConfigField {
  key: keyof EngineConfigInput;
  vault: string;
  flag: string;
  endpoint: "root" | "lease";
  kind: "string" | "number" | "duration";
  /** Never shown back (config read, config/root GET). */
  secret?: boolean;
  description: string;
}

export const CONFIG_FIELDS: readonly ConfigField[] = [
  {
    key: "accessKey",
    vault: "access_key",
    flag: "access-key",
    endpoint: "root",
    kind: "string",
    description: "Root access key id (omit with --secret-key to use the AWS SDK default chain)",
  },
  {
    key: "secretKey",
    vault: "secret_key",
    flag: "secret-key",
    endpoint: "root",
    kind: "string",
    secret: true,
    description: "Root secret key (prefer --secret-key-stdin: argv is visible to other users)",
  },
  {
    key: "region",
    vault: "region",
    flag: "region",
    endpoint: "root",
    kind: "string",
    description: "AWS region (default AWS_REGION, AWS_DEFAULT_REGION, us-east-1)",
  },
  { key: "iamEndpoint", vault: "iam_endpoint", flag: "iam-endpoint", endpoint: "root", kind: "string", description: "Custom IAM endpoint URL" },
  { key: "stsEndpoint", vault: "sts_endpoint", flag: "sts-endpoint", endpoint: "root", kind: "string", description: "Custom STS endpoint URL" },
  { key: "stsRegion", vault: "sts_region", flag: "sts-region", endpoint: "root", kind: "string", description: "STS signing region (only with --sts-endpoint)" },
  {
    key: "maxRetries",
    vault: "max_retries",
    flag: "max-retries",
    endpoint: "root",
    kind: "number",
    description: "Retries of throttled/transient AWS errors (-1 = SDK default)",
  },
  {
    key: "usernameTemplate",
    vault: "username_template",
    flag: "username-template",
    endpoint: "root",
    kind: "string",
    description: "Vault-style username template",
  },
  {
    key: "stsRevocation",
    vault: "sts_revocation",
    flag: "sts-revocation",
    endpoint: "root",
    kind: "string",
    description:
      "How revoke ends assumed_role and federation_token leases: deny (an inline Deny for the session on its role or user; default) or none (they stay valid until expiry)",
  },
  { key: "lease", vault: "lease", flag: "lease", endpoint: "lease", kind: "duration", description: "Default TTL of iam_user leases" },
  { key: "leaseMax", vault: "lease_max", flag: "lease-max", endpoint: "lease", kind: "duration", description: "Maximum TTL of iam_user leases" },
];
