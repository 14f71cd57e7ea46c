// One table of role fields (Vault's aws/roles/:name). Each row gives the field's name
// in a Pulumi program (RoleInput / AwsRoleArgs), in Vault's JSON, and as a CLI flag;
// its kind; the credential types that allow it; and a one-line description. It
// drives validateRole's "only valid for" checks, Vault role JSON in
// (roleFromVaultJson) and out (`role read`), the `role write` flags and their help;
// the server's API parameters will read it too.
import { CREDENTIAL_TYPES, type CredentialType, type RoleSettings } from "./types";
import type { RoleInput } from "./validation";
import { STS_TTL_TYPES } from "./credentialTypes";
import { formatDuration } from "./duration";

/** How a field's value is written: in Vault JSON, as a flag, and how it is shown. */
export type RoleFieldKind = "string" | "list" | "kv" | "duration" | "policy";

export interface RoleField {
  /** The program's name: RoleInput / AwsRoleArgs / RoleSettings. */
  key: keyof RoleInput & keyof RoleSettings;
  /** Vault's name (role JSON, `role read`). */
  vault: string;
  /** The `role write` flag, without "--". */
  flag: string;
  kind: RoleFieldKind;
  /** The credential types it is valid for. */
  types: readonly CredentialType[];
  description: string;
  /** A value stored for every role (e.g. userPath "/"), shown only for the types above. */
  default?: string;
}

const ALL = CREDENTIAL_TYPES;
const POLICY_TYPES: readonly CredentialType[] = ["iam_user", "assumed_role", "federation_token"];

export const ROLE_FIELDS: readonly RoleField[] = [
  { key: "credentialType", vault: "credential_type", flag: "credential-type", kind: "string", types: ALL, description: `One of ${ALL.join(", ")}` },
  {
    key: "policyDocument",
    vault: "policy_document",
    flag: "policy-document",
    kind: "policy",
    types: POLICY_TYPES,
    description: "IAM policy JSON, @file, or @- for stdin",
  },
  { key: "policyArns", vault: "policy_arns", flag: "policy-arns", kind: "list", types: POLICY_TYPES, description: "Managed policy ARNs, comma-separated" },
  { key: "roleArns", vault: "role_arns", flag: "role-arns", kind: "list", types: ["assumed_role"], description: "assumed_role: role ARNs that may be assumed" },
  {
    key: "iamGroups",
    vault: "iam_groups",
    flag: "iam-groups",
    kind: "list",
    types: POLICY_TYPES,
    description: "IAM groups (iam_user: membership; STS: their policies join the session policy)",
  },
  { key: "iamTags", vault: "iam_tags", flag: "iam-tags", kind: "kv", types: ["iam_user"], description: "iam_user: tags k=v,..." },
  { key: "defaultStsTtl", vault: "default_sts_ttl", flag: "default-sts-ttl", kind: "duration", types: STS_TTL_TYPES, description: "STS types: default TTL" },
  { key: "maxStsTtl", vault: "max_sts_ttl", flag: "max-sts-ttl", kind: "duration", types: STS_TTL_TYPES, description: "STS types: maximum TTL" },
  { key: "userPath", vault: "user_path", flag: "user-path", kind: "string", types: ["iam_user"], description: "iam_user: path of created users", default: "/" },
  {
    key: "permissionsBoundaryArn",
    vault: "permissions_boundary_arn",
    flag: "permissions-boundary-arn",
    kind: "string",
    types: ["iam_user"],
    description: "iam_user: permissions boundary policy ARN",
  },
  {
    key: "mfaSerialNumber",
    vault: "mfa_serial_number",
    flag: "mfa-serial-number",
    kind: "string",
    types: ["session_token"],
    description: "session_token: MFA device; --mfa-code then required at issue",
  },
  { key: "sessionTags", vault: "session_tags", flag: "session-tags", kind: "kv", types: ["assumed_role"], description: "assumed_role: session tags k=v,..." },
  { key: "externalId", vault: "external_id", flag: "external-id", kind: "string", types: ["assumed_role"], description: "assumed_role: external id" },
];

const BY_KEY = new Map(ROLE_FIELDS.map((f) => [f.key, f]));
const BY_VAULT = new Map(ROLE_FIELDS.map((f) => [f.vault, f]));

export function roleField(key: RoleField["key"]): RoleField {
  return BY_KEY.get(key)!;
}

export function roleFieldByVaultName(name: string): RoleField | undefined {
  return BY_VAULT.get(name);
}

/** A role as Vault's `read aws/roles/x` shows it: every field by its Vault name, null when unset. */
export function vaultRoleView(settings: RoleSettings): Record<string, unknown> {
  return Object.fromEntries(
    ROLE_FIELDS.map((f) => {
      const value = settings[f.key];
      if (f.kind === "duration") return [f.vault, value ? formatDuration(value as number) : null];
      // A default stored for every role (userPath "/") means nothing for the other types.
      if (f.default !== undefined && !f.types.includes(settings.credentialType)) return [f.vault, null];
      return [f.vault, value ?? null];
    }),
  );
}

/** Static role fields (Vault's static-roles/:name): the program's name, Vault's, and the `static-role write` flag. */
export const STATIC_ROLE_FIELDS = [
  { key: "username", vault: "username", flag: "username", description: "The existing IAM user whose access key awslease owns and rotates" },
  {
    key: "rotationPeriod",
    vault: "rotation_period",
    flag: "rotation-period",
    description: "How often the key is rotated: seconds or a duration (24h); at least 1m",
  },
] as const satisfies readonly { key: keyof import("./validation").StaticRoleInput; vault: string; flag: string; description: string }[];

/** Vault's static-creds/:name data (the server's answer and the CLI's json, yaml and table). */
export function vaultStaticCredsData(creds: { accessKey: string; secretKey: string; expiration: string }): Record<string, string> {
  return { access_key: creds.accessKey, secret_key: creds.secretKey, expiration: creds.expiration };
}

/** Vault's static-roles/:name answer. */
export function vaultStaticRoleView(record: { name: string; username: string; rotationPeriod: number; userId: string }): Record<string, unknown> {
  return { name: record.name, username: record.username, rotation_period: formatDuration(record.rotationPeriod), id: record.userId };
}
