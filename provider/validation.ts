// Validation of engine settings, roles and lease requests: one place for the rules
// the provider's `check` and the CLI share. Pure functions: no AWS calls, no I/O.
// Every failure names the camelCase field the user wrote; all failures of one input
// are collected into a single ValidationError.
import { CREDENTIAL_TYPES, STS_REVOCATION_MODES } from "./types";
import type { CredentialType, MountSettings, LeaseRequest, RoleSettings, StsRevocation } from "./types";
import { formatDuration, parseDuration } from "./duration";
import { ValidationError, quoteValue } from "./errors";
import type { ValidationFailure } from "./errors";
import { parseUsernameTemplate } from "./usernameTemplate";
import { mountNameProblem } from "./names";
import { DEFAULT_STS_TTL_SECONDS, rulesOf } from "./credentialTypes";
import { CONFIG_FIELDS } from "./configFields";
import { ROLE_FIELDS, STATIC_ROLE_FIELDS, roleField, roleFieldByVaultName, type RoleField } from "./roleFields";

export interface EngineConfigInput {
  mount?: string;
  accessKey?: string;
  secretKey?: string;
  region?: string;
  iamEndpoint?: string;
  stsEndpoint?: string;
  stsRegion?: string;
  maxRetries?: number;
  usernameTemplate?: string;
  stsRevocation?: string;
  lease?: string | number;
  leaseMax?: string | number;
}

export interface RoleInput {
  credentialType: string;
  policyDocument?: string | object;
  policyArns?: string[];
  roleArns?: string[];
  iamGroups?: string[];
  iamTags?: Record<string, string> | string[];
  defaultStsTtl?: string | number;
  maxStsTtl?: string | number;
  userPath?: string;
  permissionsBoundaryArn?: string;
  mfaSerialNumber?: string;
  sessionTags?: Record<string, string> | string[];
  externalId?: string;
}

export interface LeaseInput {
  ttl?: string | number;
  roleArn?: string;
  roleSessionName?: string;
  mfaCode?: string;
  waitUntilUsable?: boolean;
  /** The username template's `.DisplayName` (the server's token display name). */
  displayName?: string;
}

/** Vault's config/lease default when unset here: 768h (32 days), the system max TTL. */
export const DEFAULT_LEASE_SECONDS = 768 * 3600;

/** A lease needs a lifetime: 0 (the engine's lease unset) means Vault's system default, 768h. */
export function leaseSecondsOrDefault(seconds: number): number {
  return seconds > 0 ? seconds : DEFAULT_LEASE_SECONDS;
}

const REGION_PATTERN = /^[a-z0-9-]+$/;
const ROLE_NAME_PATTERN = /^[\w+=,.@-]{1,64}$/;
const ROLE_ARN_PATTERN = /^arn:aws[-a-z]*:iam::\d{12}:role\/[\w+=,.@/-]+$/;
const POLICY_ARN_PATTERN = /^arn:aws[-a-z]*:iam::(\d{12}|aws):policy\/[\w+=,.@/-]+$/;
const GROUP_NAME_PATTERN = /^[\w+=,.@-]{1,128}$/;
const USER_PATH_PATTERN = /^\/([\x21-\x7F]{0,510}\/)?$/;
const MFA_SERIAL_PATTERN = /^[\w+=/:,.@-]{9,256}$/;
const EXTERNAL_ID_PATTERN = /^[\w+=,.@:/-]{2,1224}$/;
const SESSION_NAME_PATTERN = /^[\w+=,.@-]{2,64}$/;
const MFA_CODE_PATTERN = /^\d{6}$/;

/** AWS tag limits (IAM TagUser and STS session tags alike). */
const MAX_TAGS = 50;
const MAX_TAG_KEY_LENGTH = 128;
const MAX_TAG_VALUE_LENGTH = 256;

// ------------------------------------------------------------------ helpers

/** Collects failures; `attempt` runs a parser and records its ValidationError instead of throwing. */
class Failures {
  readonly list: ValidationFailure[] = [];

  add(field: string, reason: string): void {
    this.list.push({ field, reason });
  }

  attempt<T>(fn: () => T): T | undefined {
    try {
      return fn();
    } catch (error) {
      if (error instanceof ValidationError) {
        this.list.push(...error.failures);
        return undefined;
      }
      throw error;
    }
  }

  throwIfAny(): void {
    if (this.list.length > 0) throw new ValidationError(this.list);
  }
}

/** "" and whitespace-only strings mean "not set", as Vault treats empty parameters. */
function present(value: string | undefined | null): string | undefined {
  if (value === undefined || value === null) return undefined;
  const trimmed = String(value).trim();
  return trimmed === "" ? undefined : trimmed;
}

/** A list written as `A,B` or as an array; entries are trimmed and empty ones dropped (Vault's TypeCommaStringSlice). */
export function parseList(value: string | string[] | undefined): string[] {
  if (value === undefined || value === null) return [];
  const items = typeof value === "string" ? value.split(",") : value;
  if (!Array.isArray(items)) throw new TypeError("parseList expects a string or an array of strings");
  return items.map((item) => String(item).trim()).filter((item) => item !== "");
}

/**
 * Key/value pairs written as a map, as `k=v` strings, or as one `k=v,k2=v2` string
 * (Vault's TypeKVPairs; the CLI's --iam-tags and --session-tags).
 */
export function parseKeyValueList(value: string | string[] | Record<string, string>, field: string): Record<string, string> {
  const result: Record<string, string> = {};
  if (value === undefined || value === null) return result;
  if (typeof value === "object" && !Array.isArray(value)) {
    for (const [key, entry] of Object.entries(value)) {
      if (typeof entry !== "string") throw ValidationError.of(field, `value of ${quoteValue(key)} must be a string`);
      if (key.trim() === "") throw ValidationError.of(field, "keys must not be empty");
      result[key] = entry;
    }
    return result;
  }
  const pairs = typeof value === "string" ? value.split(",") : value;
  if (!Array.isArray(pairs)) throw ValidationError.of(field, "must be a map or a list of key=value pairs");
  for (const raw of pairs) {
    if (typeof raw !== "string") throw ValidationError.of(field, "must be a map or a list of key=value pairs");
    const pair = raw.trim();
    if (pair === "") continue;
    const equals = pair.indexOf("=");
    if (equals <= 0) throw ValidationError.of(field, `${quoteValue(pair)} is not a key=value pair`);
    const key = pair.slice(0, equals).trim();
    if (key === "") throw ValidationError.of(field, `${quoteValue(pair)} has an empty key`);
    if (Object.prototype.hasOwnProperty.call(result, key)) throw ValidationError.of(field, `key ${quoteValue(key)} is given twice`);
    result[key] = pair.slice(equals + 1).trim();
  }
  return result;
}

function checkTags(tags: Record<string, string>, field: string, failures: Failures): void {
  const keys = Object.keys(tags);
  if (keys.length > MAX_TAGS) failures.add(field, `at most ${MAX_TAGS} tags are allowed, got ${keys.length}`);
  for (const key of keys) {
    if (key.length > MAX_TAG_KEY_LENGTH) failures.add(field, `tag key ${quoteValue(key)} is longer than ${MAX_TAG_KEY_LENGTH} characters`);
    else if (/^aws:/i.test(key)) failures.add(field, `tag key ${quoteValue(key)} uses the reserved prefix "aws:"`);
    if (tags[key].length > MAX_TAG_VALUE_LENGTH) {
      failures.add(field, `value of tag ${quoteValue(key)} is longer than ${MAX_TAG_VALUE_LENGTH} characters`);
    }
  }
}

function isHttpUrl(value: string): boolean {
  try {
    const url = new URL(value);
    return (url.protocol === "http:" || url.protocol === "https:") && url.hostname !== "";
  } catch {
    return false;
  }
}

function listField(value: unknown, field: string, failures: Failures): string[] {
  if (value === undefined || value === null) return [];
  if (typeof value === "string" || (Array.isArray(value) && value.every((v) => typeof v === "string"))) {
    return parseList(value as string | string[]);
  }
  failures.add(field, "must be a list of strings");
  return [];
}

function optionalDuration(value: string | number | undefined | null, field: string, failures: Failures): number {
  if (value === undefined || value === null || value === "") return 0;
  return failures.attempt(() => parseDuration(value, field)) ?? 0;
}

function isCredentialType(value: string): value is CredentialType {
  return (CREDENTIAL_TYPES as readonly string[]).includes(value);
}

// ------------------------------------------------------------------ engine

/**
 * Engine settings (Vault config/root + config/lease) with defaults applied. The region
 * falls back to env (default process.env) AWS_REGION, AWS_DEFAULT_REGION, then us-east-1;
 * pass `env` explicitly to keep the result independent of the calling process.
 */
export function validateEngineConfig(input: EngineConfigInput, defaults: { mount: string; env?: NodeJS.ProcessEnv }): MountSettings {
  const failures = new Failures();
  const env = defaults.env ?? process.env;

  const mount = present(input.mount) ?? defaults.mount;
  const mountProblem = mountNameProblem(mount);
  if (mountProblem) failures.add("mount", mountProblem);

  // Secrets never appear in messages: only whether they are set.
  const accessKey = present(input.accessKey);
  const secretKey = present(input.secretKey);
  if (accessKey && !secretKey) failures.add("secretKey", "must be set when accessKey is set");
  if (secretKey && !accessKey) failures.add("accessKey", "must be set when secretKey is set");

  const region = present(input.region) ?? present(env.AWS_REGION) ?? present(env.AWS_DEFAULT_REGION) ?? "us-east-1";
  if (!REGION_PATTERN.test(region)) failures.add("region", `${quoteValue(region)} is not a region name (lowercase letters, digits and "-")`);
  const stsRegion = present(input.stsRegion);
  if (stsRegion && !REGION_PATTERN.test(stsRegion))
    failures.add("stsRegion", `${quoteValue(stsRegion)} is not a region name (lowercase letters, digits and "-")`);

  const iamEndpoint = present(input.iamEndpoint);
  const stsEndpoint = present(input.stsEndpoint);
  // The URL itself is not echoed: it could carry user:password.
  if (iamEndpoint && !isHttpUrl(iamEndpoint)) failures.add("iamEndpoint", "must be an http:// or https:// URL");
  if (stsEndpoint && !isHttpUrl(stsEndpoint)) failures.add("stsEndpoint", "must be an http:// or https:// URL");

  const maxRetries = input.maxRetries ?? -1;
  if (typeof maxRetries !== "number" || !Number.isInteger(maxRetries) || maxRetries < -1) {
    failures.add("maxRetries", `must be a whole number >= -1 (-1 = SDK default), got ${quoteValue(maxRetries)}`);
  }

  const usernameTemplate = present(input.usernameTemplate) === undefined ? undefined : input.usernameTemplate;
  if (usernameTemplate !== undefined) failures.attempt(() => parseUsernameTemplate(usernameTemplate));

  const stsRevocation = present(input.stsRevocation);
  if (stsRevocation !== undefined && !(STS_REVOCATION_MODES as readonly string[]).includes(stsRevocation)) {
    failures.add("stsRevocation", `${quoteValue(stsRevocation)} must be one of ${STS_REVOCATION_MODES.join(", ")}`);
  }

  const lease =
    input.lease === undefined || input.lease === "" ? DEFAULT_LEASE_SECONDS : failures.attempt(() => parseDuration(input.lease as string | number, "lease"));
  const leaseMax =
    input.leaseMax === undefined || input.leaseMax === ""
      ? DEFAULT_LEASE_SECONDS
      : failures.attempt(() => parseDuration(input.leaseMax as string | number, "leaseMax"));
  if (lease === 0) failures.add("lease", "must be greater than 0");
  if (leaseMax === 0) failures.add("leaseMax", "must be greater than 0");
  if (lease && leaseMax && lease > leaseMax) {
    failures.add("lease", `${formatDuration(lease)} is more than leaseMax ${formatDuration(leaseMax)}`);
  }

  failures.throwIfAny();
  const settings: MountSettings = {
    mount,
    region,
    maxRetries,
    leaseSeconds: lease as number,
    leaseMaxSeconds: leaseMax as number,
  };
  if (accessKey) settings.accessKey = accessKey;
  if (secretKey) settings.secretKey = secretKey;
  if (iamEndpoint) settings.iamEndpoint = iamEndpoint;
  if (stsEndpoint) settings.stsEndpoint = stsEndpoint;
  // Kept even without stsEndpoint (Vault accepts it); the STS client uses it only with an endpoint.
  if (stsRegion) settings.stsRegion = stsRegion;
  if (usernameTemplate !== undefined) settings.usernameTemplate = usernameTemplate;
  if (stsRevocation !== undefined) settings.stsRevocation = stsRevocation as StsRevocation;
  return settings;
}

// ------------------------------------------------------------------ roles

/** A role (Vault roles/:name) checked with Vault's rules, normalised for storage. */
export function validateRole(name: string, input: RoleInput): RoleSettings {
  const failures = new Failures();
  // "." and ".." would make lease ids such as aws/creds/../ID.
  if (typeof name !== "string" || !ROLE_NAME_PATTERN.test(name) || /^\.+$/.test(name)) {
    failures.add("name", `${quoteValue(name)} must be 1-64 letters, digits or _+=,.@- (not only dots)`);
  }

  const rawType = present(input.credentialType);
  let type: CredentialType | undefined;
  if (rawType === undefined) failures.add("credentialType", `is required (one of ${CREDENTIAL_TYPES.join(", ")})`);
  else if (!isCredentialType(rawType)) failures.add("credentialType", `${quoteValue(rawType)} is not one of ${CREDENTIAL_TYPES.join(", ")}`);
  else type = rawType;

  /** Records "only valid for ..." when the field is set and the (valid) type is not among its types (ROLE_FIELDS). */
  const onlyFor = (field: RoleField["key"], isSet: boolean) => {
    const allowed = roleField(field).types;
    if (isSet && type !== undefined && !allowed.includes(type)) {
      failures.add(field, `only valid for credentialType ${allowed.join(", ")} (this role is ${type})`);
    }
  };

  // policyDocument: an object, or a JSON string of one; stored compacted.
  let policyDocument: string | undefined;
  const rawPolicy = input.policyDocument;
  if (rawPolicy !== undefined && rawPolicy !== null && !(typeof rawPolicy === "string" && rawPolicy.trim() === "")) {
    let parsed: unknown = rawPolicy;
    let parsedOk = true;
    if (typeof rawPolicy === "string") {
      try {
        parsed = JSON.parse(rawPolicy);
      } catch (error) {
        parsedOk = false;
        failures.add("policyDocument", `is not valid JSON (${(error as Error).message})`);
      }
    }
    if (parsedOk) {
      if (typeof parsed !== "object" || parsed === null || Array.isArray(parsed)) failures.add("policyDocument", "must be a JSON object");
      else policyDocument = JSON.stringify(parsed);
    }
  }

  // AWS refuses at issue time what is over its size limits (whitespace is not counted,
  // and the stored document is compact JSON): refuse it here, before any AWS call.
  const policyLimit = type !== undefined ? rulesOf(type).policyDocument : undefined;
  if (policyDocument !== undefined && policyLimit && policyDocument.length > policyLimit.max) {
    failures.add("policyDocument", `is ${policyDocument.length} characters; ${policyLimit.limit}`);
  }

  const policyArns = listField(input.policyArns, "policyArns", failures);
  for (const arn of policyArns) {
    if (!POLICY_ARN_PATTERN.test(arn)) failures.add("policyArns", `${quoteValue(arn, 80)} is not an IAM policy ARN (arn:aws:iam::<account>:policy/<name>)`);
  }
  const policySet = policyDocument !== undefined || policyArns.length > 0;
  onlyFor("policyDocument", policyDocument !== undefined);
  onlyFor("policyArns", policyArns.length > 0);

  const roleArns = listField(input.roleArns, "roleArns", failures);
  for (const arn of roleArns) {
    if (!ROLE_ARN_PATTERN.test(arn)) failures.add("roleArns", `${quoteValue(arn, 80)} is not an IAM role ARN (arn:aws:iam::<12-digit account>:role/<name>)`);
  }
  onlyFor("roleArns", roleArns.length > 0);
  // Vault accepts an assumed_role without ARNs, but no issue could ever succeed with it.
  if (type === "assumed_role" && roleArns.length === 0) failures.add("roleArns", "assumed_role needs at least one role ARN");

  const iamGroups = listField(input.iamGroups, "iamGroups", failures);
  for (const group of iamGroups) {
    if (!GROUP_NAME_PATTERN.test(group)) failures.add("iamGroups", `${quoteValue(group)} is not an IAM group name (1-128 letters, digits or _+=,.@-)`);
  }
  onlyFor("iamGroups", iamGroups.length > 0);

  const iamTags =
    input.iamTags === undefined || input.iamTags === null ? {} : (failures.attempt(() => parseKeyValueList(input.iamTags as string[], "iamTags")) ?? {});
  checkTags(iamTags, "iamTags", failures);
  onlyFor("iamTags", Object.keys(iamTags).length > 0);

  const defaultStsTtl = optionalDuration(input.defaultStsTtl, "defaultStsTtl", failures);
  const maxStsTtl = optionalDuration(input.maxStsTtl, "maxStsTtl", failures);
  onlyFor("defaultStsTtl", defaultStsTtl > 0);
  onlyFor("maxStsTtl", maxStsTtl > 0);
  if (defaultStsTtl > 0 && maxStsTtl > 0 && defaultStsTtl > maxStsTtl) {
    failures.add("defaultStsTtl", `${formatDuration(defaultStsTtl)} is more than maxStsTtl ${formatDuration(maxStsTtl)}`);
  }

  const userPath = input.userPath === undefined || input.userPath === null || input.userPath === "" ? undefined : input.userPath;
  if (userPath !== undefined && !USER_PATH_PATTERN.test(userPath)) {
    failures.add("userPath", `${quoteValue(userPath)} must start and end with "/" (regexp ^\\/([\\x21-\\x7F]{0,510}\\/)?$)`);
  }
  onlyFor("userPath", userPath !== undefined);

  const permissionsBoundaryArn = present(input.permissionsBoundaryArn);
  if (permissionsBoundaryArn !== undefined) {
    const problem = policyArnProblem(permissionsBoundaryArn);
    if (problem) failures.add("permissionsBoundaryArn", problem);
  }
  onlyFor("permissionsBoundaryArn", permissionsBoundaryArn !== undefined);

  const mfaSerialNumber = present(input.mfaSerialNumber);
  if (mfaSerialNumber !== undefined && !MFA_SERIAL_PATTERN.test(mfaSerialNumber)) {
    failures.add("mfaSerialNumber", `${quoteValue(mfaSerialNumber, 80)} is not an MFA device ARN or serial number (9-256 characters of [\\w+=/:,.@-])`);
  }
  onlyFor("mfaSerialNumber", mfaSerialNumber !== undefined);

  const sessionTags =
    input.sessionTags === undefined || input.sessionTags === null
      ? {}
      : (failures.attempt(() => parseKeyValueList(input.sessionTags as string[], "sessionTags")) ?? {});
  checkTags(sessionTags, "sessionTags", failures);
  onlyFor("sessionTags", Object.keys(sessionTags).length > 0);

  const externalId = input.externalId === undefined || input.externalId === null || input.externalId === "" ? undefined : input.externalId;
  if (externalId !== undefined && !EXTERNAL_ID_PATTERN.test(externalId)) {
    failures.add("externalId", "must be 2-1224 characters of letters, digits and _+=,.@:/-");
  }
  onlyFor("externalId", externalId !== undefined);

  // Without a policy a federation token would carry the engine's own permissions.
  // Vault checks this at issue time; failing here stops it before any AWS call.
  // Group policies are merged into the session policy at issue time, so groups count.
  if (type === "federation_token" && !policySet && iamGroups.length === 0) {
    failures.add(
      "policyDocument",
      "federation_token needs policyDocument, policyArns or iamGroups (otherwise the token would carry the engine's own permissions)",
    );
  }

  failures.throwIfAny();
  const role: RoleSettings = {
    name,
    credentialType: type as CredentialType,
    policyArns,
    roleArns,
    iamGroups,
    iamTags,
    defaultStsTtl,
    maxStsTtl,
    userPath: userPath ?? "/",
    sessionTags,
  };
  if (policyDocument !== undefined) role.policyDocument = policyDocument;
  if (permissionsBoundaryArn !== undefined) role.permissionsBoundaryArn = permissionsBoundaryArn;
  if (mfaSerialNumber !== undefined) role.mfaSerialNumber = mfaSerialNumber;
  if (externalId !== undefined) role.externalId = externalId;
  return role;
}

/** Vault's validateAWSManagedPolicy: an ARN whose service is iam and resource is policy/... */
function policyArnProblem(value: string): string | undefined {
  const parts = value.split(":");
  if (parts.length < 6 || parts[0] !== "arn" || parts[1] === "") return `${quoteValue(value, 80)} is not an ARN`;
  const service = parts[2];
  const resource = parts.slice(5).join(":");
  if (service !== "iam") return `expected a service of iam but got ${quoteValue(service)}`;
  if (!resource.startsWith("policy/") || resource.length === "policy/".length) return `expected a resource of policy/... but got ${quoteValue(resource, 80)}`;
  return undefined;
}

// ------------------------------------------------------------------ leases

/** Per-issue parameters (Vault creds/:name, sts/:name). */
export function validateLease(input: LeaseInput): LeaseRequest {
  const failures = new Failures();
  const ttlSet = input.ttl !== undefined && input.ttl !== null && input.ttl !== "";
  const ttl = ttlSet ? failures.attempt(() => parseDuration(input.ttl as string | number, "ttl")) : 0;
  // Unset means the default; an explicit 0 is a mistake, not a way to ask for it.
  if (ttl === 0 && ttlSet) failures.add("ttl", "must be greater than 0 (leave it out for the default)");

  const roleArn = present(input.roleArn);
  if (roleArn !== undefined && !ROLE_ARN_PATTERN.test(roleArn)) {
    failures.add("roleArn", `${quoteValue(roleArn, 80)} is not an IAM role ARN (arn:aws:iam::<12-digit account>:role/<name>)`);
  }
  const roleSessionName = present(input.roleSessionName);
  if (roleSessionName !== undefined && !SESSION_NAME_PATTERN.test(roleSessionName)) {
    failures.add("roleSessionName", `${quoteValue(roleSessionName, 80)} must be 2-64 letters, digits or _+=,.@-`);
  }
  // The code is a one-time password; it is never echoed.
  const mfaCode = present(input.mfaCode);
  if (mfaCode !== undefined && !MFA_CODE_PATTERN.test(mfaCode)) failures.add("mfaCode", "must be 6 digits");

  const waitUntilUsable = input.waitUntilUsable ?? true;
  if (typeof waitUntilUsable !== "boolean") failures.add("waitUntilUsable", "must be true or false");

  const displayName = present(input.displayName);
  if (displayName !== undefined && displayName.length > 128) failures.add("displayName", "must be at most 128 characters");

  failures.throwIfAny();
  const request: LeaseRequest = { ttl: ttl ?? 0, waitUntilUsable };
  if (displayName !== undefined) request.displayName = displayName;
  if (roleArn !== undefined) request.roleArn = roleArn;
  if (roleSessionName !== undefined) request.roleSessionName = roleSessionName;
  if (mfaCode !== undefined) request.mfaCode = mfaCode;
  return request;
}

/** Checks a lease request against its role before any AWS call; returns the role ARN to assume. */
export function checkIssueRequest(role: RoleSettings, request: LeaseRequest): { roleArn?: string } {
  const failures = new Failures();
  let roleArn: string | undefined;

  if (role.credentialType === "assumed_role") {
    if (request.roleArn === undefined) {
      if (role.roleArns.length === 1) roleArn = role.roleArns[0];
      else failures.add("roleArn", `required: role ${quoteValue(role.name)} allows ${role.roleArns.length} role ARNs, pick one of them`);
    } else if (role.roleArns.includes(request.roleArn)) {
      roleArn = request.roleArn;
    } else {
      failures.add("roleArn", `${quoteValue(request.roleArn, 80)} is not one of the role ARNs of role ${quoteValue(role.name)}`);
    }
  } else {
    if (request.roleArn !== undefined) failures.add("roleArn", `only valid for assumed_role roles (role ${quoteValue(role.name)} is ${role.credentialType})`);
    if (request.roleSessionName !== undefined) {
      failures.add("roleSessionName", `only valid for assumed_role roles (role ${quoteValue(role.name)} is ${role.credentialType})`);
    }
  }

  if (role.credentialType === "session_token") {
    if (role.mfaSerialNumber !== undefined && request.mfaCode === undefined) {
      failures.add("mfaCode", `required: role ${quoteValue(role.name)} has an mfaSerialNumber`);
    }
    if (role.mfaSerialNumber === undefined && request.mfaCode !== undefined) {
      failures.add("mfaCode", `role ${quoteValue(role.name)} has no mfaSerialNumber, so an MFA code cannot be used`);
    }
  } else if (request.mfaCode !== undefined) {
    failures.add("mfaCode", `only valid for session_token roles (role ${quoteValue(role.name)} is ${role.credentialType})`);
  }

  if (role.credentialType === "federation_token" && role.policyDocument === undefined && role.policyArns.length === 0 && role.iamGroups.length === 0) {
    failures.add("policyDocument", `role ${quoteValue(role.name)} is a federation_token role without policyDocument, policyArns or iamGroups`);
  }

  failures.throwIfAny();
  return roleArn === undefined ? {} : { roleArn };
}

// ------------------------------------------------------------------ TTLs

/**
 * The lease TTL to issue. iam_user: requested or engine lease, capped at leaseMax
 * (AWS has no limit; expiry is enforced by us). STS types: requested, else the role's
 * defaultStsTtl, else 3600; capped at maxStsTtl (or leaseMax), then clamped to what
 * the AWS call accepts. Every change to the requested value comes with a warning.
 */
export function resolveTtl(engine: MountSettings, role: RoleSettings, requestedTtl: number): { seconds: number; warnings: string[] } {
  if (!Number.isSafeInteger(requestedTtl) || requestedTtl < 0) {
    throw ValidationError.of("ttl", `must be a whole number of seconds >= 0, got ${quoteValue(requestedTtl)}`);
  }
  const warnings: string[] = [];

  const ttlRule = rulesOf(role.credentialType).ttl;
  if (ttlRule.from === "mount lease") {
    let seconds = requestedTtl > 0 ? requestedTtl : engine.leaseSeconds;
    if (engine.leaseMaxSeconds > 0 && seconds > engine.leaseMaxSeconds) {
      warnings.push(`ttl ${formatDuration(seconds)} capped at the engine's leaseMax ${formatDuration(engine.leaseMaxSeconds)}`);
      seconds = engine.leaseMaxSeconds;
    }
    return { seconds, warnings };
  }

  let seconds = requestedTtl > 0 ? requestedTtl : role.defaultStsTtl > 0 ? role.defaultStsTtl : DEFAULT_STS_TTL_SECONDS;
  if (role.maxStsTtl > 0) {
    if (seconds > role.maxStsTtl) {
      warnings.push(`ttl ${formatDuration(seconds)} capped at the role's maxStsTtl ${formatDuration(role.maxStsTtl)}`);
      seconds = role.maxStsTtl;
    }
  } else if (engine.leaseMaxSeconds > 0 && seconds > engine.leaseMaxSeconds) {
    warnings.push(`ttl ${formatDuration(seconds)} capped at the engine's leaseMax ${formatDuration(engine.leaseMaxSeconds)}`);
    seconds = engine.leaseMaxSeconds;
  }

  const { minSeconds: awsMin, maxSeconds: awsMax } = ttlRule;
  if (seconds < awsMin) {
    warnings.push(`ttl ${formatDuration(seconds)} raised to ${formatDuration(awsMin)}, the AWS minimum for ${role.credentialType}`);
    seconds = awsMin;
  } else if (seconds > awsMax) {
    warnings.push(`ttl ${formatDuration(seconds)} lowered to ${formatDuration(awsMax)}, the AWS maximum for ${role.credentialType}`);
    seconds = awsMax;
  }
  return { seconds, warnings };
}

// ------------------------------------------------------------------ Vault JSON

/**
 * A role from Vault's snake_case JSON, as written with `vault write aws/roles/x - < role.json`
 * or read back with `vault read -format=json aws/roles/x` (the `data` object, or the whole
 * response). Empty values ("" / null / 0, as Vault's reads show unset fields) are dropped.
 * Errors name the snake_case key. Run validateRole on the result.
 */
export function roleFromVaultJson(json: Record<string, unknown>): RoleInput {
  if (typeof json !== "object" || json === null || Array.isArray(json)) {
    throw ValidationError.of("role", "Vault role JSON must be an object");
  }
  // `vault read -format=json` wraps the role in a response envelope.
  const isResponse = typeof json.data === "object" && json.data !== null && ("request_id" in json || "lease_id" in json);
  const source = (isResponse ? json.data : json) as Record<string, unknown>;

  const failures = new Failures();
  const role: Partial<Record<keyof RoleInput, unknown>> = {};
  for (const [name, value] of Object.entries(source)) {
    const spec = roleFieldByVaultName(name);
    if (!spec) {
      const reason =
        name === "arn" || name === "policy"
          ? "legacy field is not supported; use role_arns/policy_arns or policy_document with credential_type"
          : `unknown field (known: ${ROLE_FIELDS.map((f) => f.vault).join(", ")})`;
      failures.add(name, reason);
      continue;
    }
    if (value === null || value === undefined || value === "") continue;
    switch (spec.kind) {
      case "string":
        if (typeof value !== "string") failures.add(name, "must be a string");
        else role[spec.key] = value;
        break;
      case "policy":
        if (typeof value !== "string" && (typeof value !== "object" || Array.isArray(value))) failures.add(name, "must be a JSON string or an object");
        else role[spec.key] = value;
        break;
      case "duration":
        if (typeof value !== "string" && typeof value !== "number") failures.add(name, "must be seconds or a duration string");
        else if (value !== 0) role[spec.key] = value;
        break;
      case "list": {
        const list = listField(value, name, failures);
        if (list.length > 0) role[spec.key] = list;
        break;
      }
      case "kv": {
        const pairs = failures.attempt(() => parseKeyValueList(value as string, name));
        if (pairs && Object.keys(pairs).length > 0) role[spec.key] = pairs;
        break;
      }
    }
  }
  if (role.credentialType === undefined && !failures.list.some((f) => f.field === "credential_type")) {
    failures.add("credential_type", "is required");
  }
  failures.throwIfAny();
  return role as unknown as RoleInput;
}

/** A `config/root` or `config/lease` write's JSON body as config input; unknown fields are refused by name. */
export function mountConfigFromVaultJson(json: Record<string, unknown>, which: "root" | "lease"): EngineConfigInput {
  const fields = CONFIG_FIELDS.filter((f) => f.endpoint === which);
  const failures = new Failures();
  const input: Record<string, unknown> = {};
  for (const [name, value] of Object.entries(json)) {
    const field = fields.find((f) => f.vault === name);
    if (!field) {
      failures.add(name, `unknown field (known: ${fields.map((f) => f.vault).join(", ")})`);
      continue;
    }
    if (value === null || value === undefined || value === "") continue;
    if (field.kind === "number") {
      const n = typeof value === "string" ? Number(value) : value;
      if (typeof n !== "number" || !Number.isInteger(n)) failures.add(name, "must be a whole number");
      else input[field.key] = n;
    } else if (typeof value !== "string" && !(typeof value === "number" && field.kind === "duration")) {
      failures.add(name, "must be a string");
    } else input[field.key] = value;
  }
  failures.throwIfAny();
  return input as EngineConfigInput;
}

// ------------------------------------------------------------------ static roles

/** A static role (Vault static-roles/:name) as given: the program's names. */
export interface StaticRoleInput {
  username?: string;
  /** Seconds or a duration ("24h"); at least one minute. */
  rotationPeriod?: string | number;
}

/** A static role checked and normalised for storage. */
export interface StaticRoleSettings {
  name: string;
  username: string;
  /** Seconds. */
  rotationPeriod: number;
}

/** Vault's minimum rotation_period (path_static_roles.go). */
export const MIN_ROTATION_SECONDS = 60;

/** IAM's UserName pattern. */
const IAM_USERNAME_PATTERN = /^[\w+=,.@-]{1,64}$/;

/** A static role checked with Vault's rules: username and rotation_period required, the period at least a minute. */
export function validateStaticRole(name: string, input: StaticRoleInput): StaticRoleSettings {
  const failures = new Failures();
  if (typeof name !== "string" || !ROLE_NAME_PATTERN.test(name) || /^\.+$/.test(name)) {
    failures.add("name", `${quoteValue(name)} must be 1-64 letters, digits or _+=,.@- (not only dots)`);
  }
  const username = present(input.username);
  if (username === undefined) failures.add("username", "is required (the existing IAM user whose keys awslease rotates)");
  else if (!IAM_USERNAME_PATTERN.test(username)) failures.add("username", `${quoteValue(username)} is not an IAM user name (1-64 letters, digits or _+=,.@-)`);
  let rotationPeriod = 0;
  if (input.rotationPeriod === undefined || input.rotationPeriod === null || input.rotationPeriod === "")
    failures.add("rotationPeriod", "is required (e.g. 24h)");
  else {
    rotationPeriod = failures.attempt(() => parseDuration(input.rotationPeriod as string | number, "rotationPeriod")) ?? 0;
    if (rotationPeriod > 0 && rotationPeriod < MIN_ROTATION_SECONDS) failures.add("rotationPeriod", `must be at least 1m (got ${rotationPeriod}s)`);
    else if (rotationPeriod === 0 && failures.list.every((f) => f.field !== "rotationPeriod")) failures.add("rotationPeriod", "must be at least 1m");
  }
  failures.throwIfAny();
  return { name, username: username as string, rotationPeriod };
}

/** Vault's static-roles/:name body (snake_case, STATIC_ROLE_FIELDS); an unknown field is refused, naming the known ones. */
export function staticRoleFromVaultJson(json: Record<string, unknown>): StaticRoleInput {
  const failures = new Failures();
  const input: StaticRoleInput = {};
  for (const [name, value] of Object.entries(json ?? {})) {
    const spec = STATIC_ROLE_FIELDS.find((f) => f.vault === name);
    if (!spec) {
      failures.add(
        name,
        `unknown field (known: ${STATIC_ROLE_FIELDS.map((f) => f.vault).join(", ")}${["assume_role_arn", "assume_role_session_name", "external_id"].includes(name) ? "; cross-account static roles are Vault Enterprise's" : ""})`,
      );
      continue;
    }
    if (value === null || value === undefined || value === "") continue;
    if (spec.key === "username" && typeof value !== "string") failures.add(name, "must be a string");
    else if (typeof value !== "string" && typeof value !== "number") failures.add(name, "must be a duration string or seconds");
    else (input as Record<string, unknown>)[spec.key] = value;
  }
  failures.throwIfAny();
  return input;
}
