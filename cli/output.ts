// The CLI's output formats. Every function here is pure and returns the exact text
// for stdout, ending in a newline (the CLI writes it unchanged); githubActions is the
// one exception: it also appends to the GitHub Actions command files. Progress and
// diagnostics are the CLI's business and go to stderr, never through here.

import { randomUUID } from "node:crypto";
import { ValidationError } from "../provider/errors";
import * as nodeFs from "node:fs";
import { formatDuration } from "../provider/duration";
import type { IssuedLease } from "../provider/types";
import type { LeaseHistory } from "../service/leaseLog";
import { vaultSecretData, type LeaseSummary, type UnfinishedIssue } from "../service/leaseRecord";
import { vaultStaticCredsData } from "../provider/roleFields";

/** One issued lease, as the CLI has it after `issue`, plus the mount's region. */
export type LeaseView = IssuedLease & { region?: string };

function leaseStatus(r: LeaseSummary): "active" | "expired" | "pending" | "irrevocable" {
  return r.pending ? "pending" : r.irrevocable ? "irrevocable" : r.expired ? "expired" : "active";
}

export type IssueFormat = "table" | "json" | "yaml" | "env" | "dotenv" | "credential-process" | "ini" | "github";
export type ListFormat = "table" | "json" | "yaml";

export const ISSUE_FORMATS: readonly IssueFormat[] = ["table", "json", "yaml", "env", "dotenv", "credential-process", "ini", "github"];
export const LIST_FORMATS: readonly ListFormat[] = ["table", "json", "yaml"];

/**
 * An answer in a structured format: JSON (2-space indent) or the same value as YAML
 * (the `yaml` package). Written with YAML 1.1's rules, so strings such as `yes`, `on`
 * or `0123` are quoted and read back as strings by 1.1 parsers (PyYAML) and 1.2 ones.
 */
export function structured(value: unknown, format: string): string {
  if (format === "json") return `${JSON.stringify(value, null, 2)}\n`;
  if (format === "yaml") return (require("yaml") as typeof import("yaml")).stringify(value, { version: "1.1" });
  throw new Error(`unknown output format ${JSON.stringify(format)} (use one of ${LIST_FORMATS.join(", ")})`);
}

/** Profile section written by `--format ini` when none is given. */
export const DEFAULT_INI_PROFILE = "awslease";

// ---------------------------------------------------------------------------
// issue

/** The issued lease in one of the non-GitHub formats. */
export function formatIssued(lease: LeaseView, format: Exclude<IssueFormat, "github">, opts: { profile?: string; shell?: Shell } = {}): string {
  switch (format) {
    case "json":
    case "yaml":
      return structured(vaultSecretBody(lease), format);
    case "credential-process":
      return credentialProcessJson(lease);
    case "env":
      return shellExports(lease, opts.shell);
    case "dotenv":
      return dotenvLines(lease);
    case "ini":
      return credentialsIni(lease, opts.profile ?? DEFAULT_INI_PROFILE);
    case "table":
      return issuedTable(lease);
    default:
      throw new Error(`unknown output format ${JSON.stringify(format)} (use one of ${ISSUE_FORMATS.join(", ")})`);
  }
}

/** A static role's key (static-creds): Vault's JSON and table; the shell and file formats as `issue` writes them. */
/** Vault's static-creds answer: no lease. */
export function staticCredsBody(creds: { accessKey: string; secretKey: string; expiration: string }): Record<string, unknown> {
  return {
    lease_id: "",
    lease_duration: 0,
    renewable: false,
    data: vaultStaticCredsData(creds),
    warnings: null,
  };
}

export function formatStaticCreds(
  creds: { accessKey: string; secretKey: string; expiration: string; region?: string },
  format: Exclude<IssueFormat, "github">,
  opts: { profile?: string; shell?: Shell } = {},
): string {
  if (format === "json" || format === "yaml") return structured(staticCredsBody(creds), format);
  if (format === "table") return keyValueTable(Object.entries(vaultStaticCredsData(creds)));
  const view: LeaseView = {
    leaseId: "",
    credentialType: "iam_user",
    accessKey: creds.accessKey,
    secretKey: creds.secretKey,
    issuedAt: "",
    expiresAt: creds.expiration,
    leaseDuration: 0,
    renewable: false,
    warnings: [],
    region: creds.region,
  };
  return formatIssued(view, format, opts);
}

// Vault's api.Secret shape (`vault read -format=json aws/creds/ROLE`) plus expires_at.
export function vaultSecretBody(lease: LeaseView): Record<string, unknown> {
  return {
    lease_id: lease.leaseId,
    lease_duration: lease.leaseDuration,
    renewable: lease.renewable,
    expires_at: lease.expiresAt,
    data: vaultSecretData(lease),
    warnings: [...lease.warnings],
  };
}

/**
 * `--field NAME` (Vault's `-field=`): one value of an answer, raw: a string as it is,
 * anything else as JSON. Looked up at the top and then under `data`, as Vault does.
 */
export function formatField(body: Record<string, unknown>, field: string): string {
  const data = (typeof body.data === "object" && body.data !== null ? body.data : {}) as Record<string, unknown>;
  const value = field in body && field !== "data" ? body[field] : data[field];
  if (value === undefined) {
    const known = [...Object.keys(body).filter((k) => k !== "data"), ...Object.keys(data)];
    throw new ValidationError([{ field: "--field", reason: `no field "${field}" here (fields: ${[...new Set(known)].sort().join(", ")})` }]);
  }
  return `${typeof value === "string" ? value : JSON.stringify(value)}\n`;
}

// The SDKs' credential_process contract; SessionToken is omitted when absent, as aws-vault does.
function credentialProcessJson(lease: LeaseView): string {
  const body: Record<string, unknown> = {
    Version: 1,
    AccessKeyId: lease.accessKey,
    SecretAccessKey: lease.secretKey,
  };
  if (lease.sessionToken) body.SessionToken = lease.sessionToken;
  body.Expiration = lease.expiresAt;
  return `${JSON.stringify(body, null, 2)}\n`;
}

/** The environment variables a lease sets, in output order; AWS_SESSION_TOKEN only when present. */
function credentialVariables(lease: LeaseView): Array<[string, string]> {
  const vars: Array<[string, string]> = [
    ["AWS_ACCESS_KEY_ID", lease.accessKey],
    ["AWS_SECRET_ACCESS_KEY", lease.secretKey],
  ];
  if (lease.sessionToken) vars.push(["AWS_SESSION_TOKEN", lease.sessionToken]);
  vars.push(["AWS_CREDENTIAL_EXPIRATION", lease.expiresAt]);
  if (lease.region) vars.push(["AWS_REGION", lease.region], ["AWS_DEFAULT_REGION", lease.region]);
  return vars;
}

/** A POSIX-shell word that evaluates to exactly `value` (single quotes; `'` becomes `'\''`). */
export function shellQuote(value: string): string {
  return `'${value.replace(/'/g, `'\\''`)}'`;
}

// `eval "$(awslease issue ... --format env)"`. A stale token in the caller's shell would
// be sent with new static iam_user keys and break them, so the absent token is unset.
// AWS_SECURITY_TOKEN is always unset: botocore reads it before AWS_SESSION_TOKEN.
/** The shells `--format env` writes for (`--shell`). */
export type Shell = "posix" | "fish" | "powershell";
export const SHELLS: readonly Shell[] = ["posix", "fish", "powershell"];

/** How each shell sets and clears a variable, with its own literal quoting. */
const SHELL_SYNTAX: Record<Shell, { set: (name: string, value: string) => string; unset: (name: string) => string }> = {
  posix: { set: (n, v) => `export ${n}=${shellQuote(v)}`, unset: (n) => `unset ${n}` },
  // fish: inside '...' only \\ and \' are escapes.
  fish: { set: (n, v) => `set -gx ${n} '${v.replace(/[\\']/g, (c) => `\\${c}`)}'`, unset: (n) => `set -e ${n}` },
  // PowerShell: inside '...' a ' is written ''.
  powershell: { set: (n, v) => `$Env:${n} = '${v.replace(/'/g, "''")}'`, unset: (n) => `Remove-Item Env:${n} -ErrorAction SilentlyContinue` },
};

function shellExports(lease: LeaseView, shell: Shell = "posix"): string {
  const syntax = SHELL_SYNTAX[shell];
  const lines = credentialVariables(lease).map(([name, value]) => syntax.set(name, value));
  if (!lease.sessionToken) lines.push(syntax.unset("AWS_SESSION_TOKEN"));
  lines.push(syntax.unset("AWS_SECURITY_TOKEN"));
  return `${lines.join("\n")}\n`;
}

// Unquoted dotenv values are safe for AWS keys, tokens, timestamps and regions.
const DOTENV_BARE = /^[A-Za-z0-9_./:+=@,-]*$/;

/**
 * A dotenv value: bare when it needs no quoting, single-quoted (literal in dotenv,
 * python-dotenv and docker compose) when it has no `'` or line break, otherwise
 * double-quoted with `\`, `"`, `$` and line breaks escaped.
 */
export function dotenvQuote(value: string): string {
  if (DOTENV_BARE.test(value)) return value;
  if (!/['\r\n]/.test(value)) return `'${value}'`;
  const escaped = value.replace(/\\/g, "\\\\").replace(/"/g, '\\"').replace(/\$/g, "\\$").replace(/\n/g, "\\n").replace(/\r/g, "\\r");
  return `"${escaped}"`;
}

// A .env file cannot unset anything, so an absent token is simply left out.
function dotenvLines(lease: LeaseView): string {
  return credentialVariables(lease)
    .map(([name, value]) => `${name}=${dotenvQuote(value)}\n`)
    .join("");
}

// A ~/.aws/credentials section (no "profile " prefix), with aws-vault's extra keys.
function credentialsIni(lease: LeaseView, profile: string): string {
  if (profile === "" || /[\][\r\n]/.test(profile) || profile !== profile.trim()) {
    throw new Error(`--profile: invalid profile name ${JSON.stringify(profile)} (no brackets, line breaks or surrounding spaces)`);
  }
  const entries: Array<[string, string]> = [
    ["aws_access_key_id", lease.accessKey],
    ["aws_secret_access_key", lease.secretKey],
  ];
  if (lease.sessionToken) entries.push(["aws_session_token", lease.sessionToken]);
  entries.push(["aws_credential_expiration", lease.expiresAt]);
  if (lease.region) entries.push(["region", lease.region]);
  for (const [key, value] of entries) {
    // Name the key, never the value: it may be a secret.
    if (/[\r\n]/.test(value)) throw new Error(`--format ini: ${key} contains a line break and cannot be written to an INI file`);
  }
  return `[${profile}]\n${entries.map(([key, value]) => `${key} = ${value}\n`).join("")}`;
}

// `vault read aws/creds/ROLE` style.
function issuedTable(lease: LeaseView): string {
  const rows: Array<[string, string]> = [
    ["lease_id", lease.leaseId],
    ["lease_duration", formatDuration(lease.leaseDuration)],
    ["lease_renewable", String(lease.renewable)],
    ["expires_at", lease.expiresAt],
    ["access_key", lease.accessKey],
    ["secret_key", lease.secretKey],
  ];
  if (lease.sessionToken) rows.push(["session_token", lease.sessionToken]);
  if (lease.arn) rows.push(["arn", lease.arn]);
  return keyValueTable(rows) + warningsBlock(lease.warnings);
}

function warningsBlock(warnings: string[]): string {
  if (warnings.length === 0) return "";
  return `\nWARNING! The following warnings were returned:\n\n${warnings.map((w) => `  * ${w}\n`).join("")}`;
}

// ---------------------------------------------------------------------------
// GitHub Actions

export interface GithubFs {
  appendFileSync(path: string, data: string, options?: { encoding: "utf8" }): void;
}

/**
 * `--format github`. Returns the stdout text: first `::add-mask::` for the access key id,
 * secret key and session token (the runner masks only later log lines), then a
 * `::warning::` per lease warning, then one note line
 * `awslease: exported lease <id> to $GITHUB_ENV[ and $GITHUB_OUTPUT]`. No secret
 * appears in it outside the add-mask lines.
 *
 * Appends to $GITHUB_ENV: AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY, AWS_SESSION_TOKEN
 * ("" when absent: env vars cannot be unset, and a stale token would break static keys),
 * AWS_CREDENTIAL_EXPIRATION, AWS_REGION and AWS_DEFAULT_REGION (when set), AWSLEASE_LEASE_ID.
 * Appends to $GITHUB_OUTPUT (skipped when unset): lease-id, aws-access-key-id,
 * aws-secret-access-key, aws-session-token (when present), aws-expiration.
 * Both in @actions/core's file-command format `NAME<<DELIM\nvalue\nDELIM\n`, one fresh
 * delimiter per entry. Everything is checked before anything is written, so a refused
 * value leaves both files untouched.
 *
 * `randomDelimiter` returns a whole delimiter (default `ghadelimiter_<uuid>`).
 */
export function githubActions(
  lease: LeaseView,
  env: { GITHUB_ENV?: string; GITHUB_OUTPUT?: string },
  fs: GithubFs = nodeFs,
  randomDelimiter: () => string = randomFileCommandDelimiter,
  outputs: (lease: LeaseView) => Array<[string, string]> = credentialOutputs,
): string {
  const envFile = env.GITHUB_ENV;
  if (!envFile) throw new Error("--format github needs $GITHUB_ENV (run inside GitHub Actions)");
  const outputFile = env.GITHUB_OUTPUT || undefined;

  const envVars = credentialVariables(lease);
  if (!lease.sessionToken) envVars.splice(2, 0, ["AWS_SESSION_TOKEN", ""]);
  envVars.push(["AWSLEASE_LEASE_ID", lease.leaseId]);

  const envText = envVars.map(([name, value]) => fileCommandEntry(name, value, randomDelimiter)).join("");
  const outputText = outputFile
    ? outputs(lease)
        .map(([name, value]) => fileCommandEntry(name, value, randomDelimiter))
        .join("")
    : "";

  fs.appendFileSync(envFile, envText, { encoding: "utf8" });
  if (outputFile) fs.appendFileSync(outputFile, outputText, { encoding: "utf8" });

  const secrets = [lease.accessKey, lease.secretKey, lease.sessionToken].filter((s): s is string => !!s);
  const lines = [
    ...secrets.map((secret) => `::add-mask::${escapeCommandData(secret)}`),
    ...lease.warnings.map((warning) => `::warning::${escapeCommandData(warning)}`),
    `awslease: exported lease ${lease.leaseId} to $GITHUB_ENV${outputFile ? " and $GITHUB_OUTPUT" : ""}`,
  ];
  return `${lines.join("\n")}\n`;
}

/** `--format github`'s step outputs: the lease id, the credentials and their expiry. */
function credentialOutputs(lease: LeaseView): Array<[string, string]> {
  const outputs: Array<[string, string]> = [
    ["lease-id", lease.leaseId],
    ["aws-access-key-id", lease.accessKey],
    ["aws-secret-access-key", lease.secretKey],
  ];
  if (lease.sessionToken) outputs.push(["aws-session-token", lease.sessionToken]);
  outputs.push(["aws-expiration", lease.expiresAt]);
  return outputs;
}

export function randomFileCommandDelimiter(): string {
  return `ghadelimiter_${randomUUID()}`;
}

/** One `NAME<<DELIM\nvalue\nDELIM\n` entry (@actions/core prepareKeyValueMessage + issueFileCommand). */
export function fileCommandEntry(name: string, value: string, randomDelimiter: () => string): string {
  const delimiter = randomDelimiter();
  if (name.includes(delimiter)) throw new Error(`--format github: name ${name} contains the file-command delimiter`);
  // Name the variable, never the value: it may be a secret.
  if (value.includes(delimiter)) throw new Error(`--format github: value of ${name} contains the file-command delimiter`);
  return `${name}<<${delimiter}\n${value}\n${delimiter}\n`;
}

/** Workflow command data escapes %, CR and LF (@actions/core escapeData). */
export function escapeCommandData(value: string): string {
  return value.replace(/%/g, "%25").replace(/\r/g, "%0D").replace(/\n/g, "%0A");
}

// ---------------------------------------------------------------------------
// lease list / lookup

/**
 * `lease list`: a JSON array of the leases, or aligned columns with a STATUS column:
 * active, expired, pending (a renew or revoke runs now). The table also has a row for
 * each stack without a record: pending (an issue runs now) or unfinished (killed;
 * `sweep` cleans it up). JSON has leases only, so every row has a lease id.
 */
export function formatLeaseList(rows: LeaseSummary[], format: ListFormat, now: Date = new Date(), unfinished: UnfinishedIssue[] = []): string {
  if (format !== "table")
    return structured(
      rows.map((r) => leaseSummaryJson(r, now)),
      format,
    );
  assertListFormat(format);
  if (rows.length === 0 && unfinished.length === 0) return "No leases.\n";
  const table = [
    ["LEASE ID", "ROLE", "TYPE", "ISSUED", "EXPIRES", "TTL", "RENEWABLE", "STATUS"],
    ...rows.map((r) => [
      r.leaseId,
      r.role,
      r.credentialType,
      r.issuedAt,
      r.expiresAt,
      // What is left, as `vault lease lookup` shows it.
      formatDuration(remainingSeconds(r, now)),
      String(r.renewable),
      leaseStatus(r),
    ]),
    ...unfinished.map((u) => [`${u.mount}/?/${u.key}`, "-", "-", u.lastUpdate ?? "-", "-", "-", "-", u.locked ? "pending" : "unfinished"]),
  ];
  return alignColumns(table, "  ");
}

function leaseSummaryJson(r: LeaseSummary, now: Date): Record<string, unknown> {
  return {
    lease_id: r.leaseId,
    role: r.role,
    credential_type: r.credentialType,
    mount: r.mount,
    issued_at: r.issuedAt,
    expires_at: r.expiresAt,
    lease_duration: r.leaseDuration,
    ttl: remainingSeconds(r, now),
    renewable: r.renewable,
    username: r.username ?? null,
    arn: r.arn ?? null,
    expired: r.expired,
    status: leaseStatus(r),
    ...(r.irrevocable ? { irrevocable_error: r.irrevocable } : {}),
  };
}

/** Whole seconds until `expiresAt`, 0 once expired. */
export function remainingSeconds(row: Pick<LeaseSummary, "expiresAt" | "expired">, now: Date): number {
  if (row.expired) return 0;
  const millis = Date.parse(row.expiresAt) - now.getTime();
  if (!Number.isFinite(millis) || millis <= 0) return 0;
  return Math.floor(millis / 1000);
}

/** `lease lookup`, with Vault's keys (id, issue_time, expire_time, ttl in seconds, renewable) plus ours. */
/** `lease lookup`'s answer (Vault's sys/leases/lookup data plus awslease's facts). */
export function lookupBody(row: LeaseSummary, now: Date = new Date()): Record<string, unknown> {
  return {
    id: row.leaseId,
    issue_time: row.issuedAt,
    expire_time: row.expiresAt,
    ttl: remainingSeconds(row, now),
    renewable: row.renewable,
    role: row.role,
    credential_type: row.credentialType,
    mount: row.mount,
    lease_duration: row.leaseDuration,
    username: row.username ?? null,
    arn: row.arn ?? null,
    expired: row.expired,
  };
}

export function formatLookup(row: LeaseSummary, format: ListFormat, now: Date = new Date()): string {
  const body = lookupBody(row, now);
  if (format !== "table") return structured(body, format);
  assertListFormat(format);
  return keyValueTable(Object.entries(body).map(([key, value]) => [key, displayValue(value)]));
}

// ---------------------------------------------------------------------------
// lease log

/** `lease log`: one row per lease, from its issue to its revoke (JSON: with every event). */
export function formatLeaseLog(rows: LeaseHistory[], format: ListFormat): string {
  if (format !== "table") {
    const body = rows.map((h) => ({
      lease_id: h.leaseId,
      role: h.role ?? null,
      credential_type: h.credentialType ?? null,
      username: h.username ?? null,
      arn: h.arn ?? null,
      issued_at: h.issuedAt ?? null,
      expires_at: h.expiresAt ?? null,
      revoked_at: h.revokedAt ?? null,
      revoked_by: h.revokedBy ?? null,
      events: h.events.map((e) => ({ time: e.time, event: e.event, by: e.by, actor: e.actor, ...(e.expiresAt ? { expires_at: e.expiresAt } : {}) })),
    }));
    return structured(body, format);
  }
  assertListFormat(format);
  if (rows.length === 0) return "No lease events.\n";
  const table = [
    ["LEASE ID", "ROLE", "TYPE", "IAM USER / SESSION", "ISSUED", "EXPIRES", "REVOKED", "BY"],
    ...rows.map((h) => [
      h.leaseId,
      h.role ?? "-",
      h.credentialType ?? "-",
      h.username ?? h.arn?.split("/").slice(1).join("/") ?? "-",
      h.issuedAt ?? "-",
      h.expiresAt ?? "-",
      h.revokedAt?.replace(/\.\d+Z$/, "Z") ?? "-",
      h.revokedBy ?? "-",
    ]),
  ];
  return alignColumns(table, "  ");
}

// ---------------------------------------------------------------------------
// generic reads and lists

/**
 * `config read`, `role read`. json: the object as given, pretty-printed. table: Key/Value
 * sorted by key as `vault read` does; arrays joined with ",", objects as "k=v,k=v",
 * null/undefined/""/[]/{} as "n/a" (Vault's empty marker), multi-line JSON strings
 * (policy documents) compacted, other multi-line strings continued under the value column.
 */
export function formatKeyValues(obj: Record<string, unknown>, format: ListFormat): string {
  if (format !== "table") return structured(obj, format);
  assertListFormat(format);
  const keys = Object.keys(obj).sort();
  return keyValueTable(keys.map((key) => [key, displayValue(obj[key])]));
}

/** `role list`: json array, or `header`, a dashed rule and one name a line; empty: "No <header>." (pass a plural). */
export function formatNameList(names: string[], format: ListFormat, header: string): string {
  if (format !== "table") return structured(names, format);
  assertListFormat(format);
  if (names.length === 0) return `No ${header.toLowerCase()}.\n`;
  return [header, "-".repeat(header.length), ...names].map((line) => `${line}\n`).join("");
}

// ---------------------------------------------------------------------------
// table helpers

const EMPTY = "n/a";

function displayValue(value: unknown): string {
  if (value === null || value === undefined || value === "") return EMPTY;
  if (Array.isArray(value)) {
    return value.length === 0 ? EMPTY : value.map((item) => (typeof item === "object" && item !== null ? JSON.stringify(item) : String(item))).join(",");
  }
  if (typeof value === "object") {
    const entries = Object.entries(value as Record<string, unknown>);
    if (entries.length === 0) return EMPTY;
    return entries.map(([k, v]) => `${k}=${typeof v === "object" && v !== null ? JSON.stringify(v) : String(v)}`).join(",");
  }
  if (typeof value === "string" && /[\r\n]/.test(value)) {
    try {
      const parsed: unknown = JSON.parse(value);
      if (typeof parsed === "object" && parsed !== null) return JSON.stringify(parsed);
    } catch {
      // not JSON: keep the lines
    }
  }
  return String(value);
}

// Vault's table: Key/Value header, dashed rule, columns glued with 4 spaces.
function keyValueTable(rows: Array<[string, string]>): string {
  return alignColumns([["Key", "Value"], ["---", "-----"], ...rows], "    ");
}

/** Left-aligned columns; no trailing spaces; a multi-line last cell continues under its column. */
function alignColumns(rows: string[][], glue: string): string {
  const columns = Math.max(...rows.map((r) => r.length));
  const widths: number[] = [];
  for (let c = 0; c < columns - 1; c++) {
    widths.push(Math.max(...rows.map((r) => (r[c] ?? "").length)));
  }
  const indent = widths.reduce((sum, w) => sum + w + glue.length, 0);
  const out: string[] = [];
  for (const row of rows) {
    const cells = row.map((cell, c) => (c < columns - 1 ? cell.padEnd(widths[c]) : cell));
    const [first, ...rest] = cells.join(glue).split(/\r?\n/);
    out.push(first.trimEnd());
    for (const line of rest) out.push(`${" ".repeat(indent)}${line}`.trimEnd());
  }
  return `${out.join("\n")}\n`;
}

function assertListFormat(format: string): void {
  if (!(LIST_FORMATS as readonly string[]).includes(format)) {
    throw new Error(`unknown output format ${JSON.stringify(format)} (use one of ${LIST_FORMATS.join(", ")})`);
  }
}
