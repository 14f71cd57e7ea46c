// Vault's ACL policies for the server's tokens: parse a policy, merge several into one
// ACL, and answer which capabilities apply to a request path. Pure: no HTTP, no I/O.
// Each rule follows Vault's own code (names below are Vault's):
//   parsing         vault/policy.go        parseACLPolicyWithTemplating, parsePaths
//   merging         vault/acl.go           NewACL (same pattern: union; deny: deny only)
//   matching        vault/acl.go           AllowOperation (exact, then list's trailing "/")
//   priority        vault/acl.go           CheckAllowedFromNonExactPaths and its `less`
//   built-ins       vault/policy_store.go  defaultPolicy, immutablePolicies, sanitizeName
// Only Vault's JSON policy form is read: HCL would need a parser this project does not
// ship. Namespaces, templated paths, parameter constraints, wrapping TTLs, MFA and
// control groups are not supported; a rule that uses one is refused rather than
// silently granting more than it says.
import { ValidationError, quoteValue } from "../../provider/errors";
import type { ValidationFailure } from "../../provider/errors";

/** Every capability a policy may name, in the order Vault's docs list them. */
export const CAPABILITIES = ["create", "read", "update", "patch", "delete", "list", "sudo", "deny"] as const;
export type Capability = (typeof CAPABILITIES)[number];

/** The capabilities that grant something: all but deny. The root policy has all of them. */
const GRANTS: readonly Capability[] = CAPABILITIES.filter((c) => c !== "deny");

/** Vault's order in sys/capabilities-self answers (ACL.CapabilitiesAndSubscribeEventTypes). */
const VAULT_ANSWER_ORDER: readonly Capability[] = ["sudo", "read", "list", "update", "delete", "create", "patch"];

/** Vault's pre-capabilities `policy = "..."` shorthand, still accepted by parsePaths. */
const OLD_POLICIES: Readonly<Record<string, readonly Capability[]>> = {
  deny: ["deny"],
  read: ["read", "list"],
  write: ["create", "read", "update", "delete", "list"],
  sudo: ["create", "read", "update", "delete", "list", "sudo"],
};

/**
 * Keys Vault accepts in a path rule that awslease cannot enforce. Each one only ever
 * narrows a grant, so ignoring it would grant more than the policy says: refused,
 * except on a deny rule, where Vault ignores them too (parsePaths jumps past them).
 */
const UNSUPPORTED_RULE_KEYS = [
  "allowed_parameters",
  "denied_parameters",
  "required_parameters",
  "min_wrapping_ttl",
  "max_wrapping_ttl",
  "mfa_methods",
  "control_group",
  "subscribe_event_types",
];
const RULE_KEYS = new Set(["comment", "policy", "capabilities", ...UNSUPPORTED_RULE_KEYS]);

/** Policies Vault never lets a user write (policy_store.go immutablePolicies). */
const IMMUTABLE_POLICIES = new Set(["root", "response-wrapping", "control-group"]);

export const ROOT_POLICY_NAME = "root";
export const DEFAULT_POLICY_NAME = "default";

/** How a rule's pattern matches: which of Vault's three tables NewACL puts it in. */
export type RuleKind = "exact" | "prefix" | "segment";

/** One `path "..." { capabilities = [...] }` block of a policy. */
export interface PathRule {
  /** The pattern as written, less one leading "/". */
  readonly pattern: string;
  /** The key Vault matches on: a prefix rule loses its trailing "*"; a segment rule keeps it. */
  readonly path: string;
  /** exact: equal paths only; prefix: ended in "*"; segment: has a "+" segment (and maybe a trailing "*"). */
  readonly kind: RuleKind;
  /** What the rule grants, in CAPABILITIES order; exactly ["deny"] when it denies. May be empty. */
  readonly capabilities: readonly Capability[];
}

export interface Policy {
  /** Lower-case and trimmed, as Vault stores policy names. */
  readonly name: string;
  readonly paths: readonly PathRule[];
  /** The document as given (JSON text), for reading the policy back. */
  readonly raw: string;
}

// ------------------------------------------------------------------ parsing

/**
 * Parses Vault's JSON policy form, e.g.
 * `{"path": {"aws/creds/deploy": {"capabilities": ["read"]}, "aws/roles/*": {"capabilities": ["list"]}}}`.
 * Throws a ValidationError (field "name" or "policy") naming each bad path.
 */
export function parsePolicy(name: string, document: string | object): Policy {
  const policyName = policyNameOf(name);
  const { value, raw } = documentOf(document);

  const failures: ValidationFailure[] = [];
  const fail = (reason: string) => failures.push({ field: "policy", reason });
  for (const key of Object.keys(value)) {
    if (key !== "path" && key !== "name") fail(`invalid key ${quoteValue(key)} (a policy has "path" and "name")`);
  }
  // Vault ignores a `name` inside the document (GetPolicy resets it); it still has to be a string.
  if ("name" in value && typeof value.name !== "string") fail(`"name" must be a string`);

  const paths: PathRule[] = [];
  const rules = value.path;
  if (rules !== undefined) {
    if (!isPlainObject(rules)) {
      fail(`"path" must be an object of path rules, like {"aws/creds/deploy": {"capabilities": ["read"]}}`);
    } else {
      for (const [pattern, body] of Object.entries(rules)) {
        const rule = parseRule(pattern, body);
        if (typeof rule === "string") fail(`path ${quoteValue(pattern, 80)}: ${rule}`);
        else paths.push(rule);
      }
    }
  }
  if (failures.length > 0) throw new ValidationError(failures);
  return { name: policyName, paths, raw };
}

function policyNameOf(name: string): string {
  // Vault normalizes names this way before storing or looking one up (sanitizeName).
  const clean = typeof name === "string" ? name.trim().toLowerCase() : "";
  if (clean === "") throw ValidationError.of("name", "policy name missing");
  if (IMMUTABLE_POLICIES.has(clean)) throw ValidationError.of("name", `cannot update ${quoteValue(clean)} policy`);
  return clean;
}

function documentOf(document: string | object): { value: Record<string, unknown>; raw: string } {
  let value: unknown = document;
  let raw: string;
  if (typeof document === "string") {
    raw = document;
    if (document.trim() === "") throw ValidationError.of("policy", "policy is empty");
    try {
      value = JSON.parse(document);
    } catch (error) {
      const why = error instanceof Error ? error.message : String(error);
      throw ValidationError.of("policy", `is not JSON (${why}); write Vault's JSON policy form, HCL is not supported`);
    }
  } else {
    raw = JSON.stringify(document) ?? "";
  }
  if (!isPlainObject(value)) {
    throw ValidationError.of("policy", `must be a JSON object like {"path": {...}}, got ${kindOf(value)}`);
  }
  return { value, raw };
}

/** One path rule, or why it is invalid (without the `path "..."` prefix). */
function parseRule(pattern: string, body: unknown): PathRule | string {
  if (!isPlainObject(body)) return `must be an object like {"capabilities": ["read"]}, got ${kindOf(body)}`;
  for (const key of Object.keys(body)) {
    if (!RULE_KEYS.has(key)) return `invalid key ${quoteValue(key)}`;
  }
  // Vault would fill these in from the token's identity entity; awslease tokens have none.
  if (pattern.includes("{{")) return "templated paths ({{identity...}}) are not supported";

  // Paths in Vault start after the "/" of the API path, so one leading "/" goes.
  const path = pattern.startsWith("/") ? pattern.slice(1) : pattern;
  if (path.includes("+*")) return "invalid use of wildcards ('+*' is forbidden)";
  // Vault would take a "*" anywhere else literally; its docs: "only supported as the last character".
  const star = path.indexOf("*");
  if (star !== -1 && star !== path.length - 1) return `"*" is only allowed as the last character`;

  const capabilities = capabilitiesOf(body);
  if (typeof capabilities === "string") return capabilities;
  if (!capabilities.includes("deny")) {
    const unsupported = UNSUPPORTED_RULE_KEYS.find((key) => key in body);
    if (unsupported) return `${quoteValue(unsupported)} is not supported (awslease enforces capabilities only)`;
  }

  // parsePaths: a "+" segment makes it a segment rule, which keeps its trailing "*".
  const segment = path === "+" || path.includes("/+") || path.startsWith("+/");
  if (segment) return { pattern: path, path, kind: "segment", capabilities };
  if (path.endsWith("*")) return { pattern: path, path: path.slice(0, -1), kind: "prefix", capabilities };
  return { pattern: path, path, kind: "exact", capabilities };
}

/** The rule's capabilities (`policy` shorthand included), or why they are invalid. */
function capabilitiesOf(body: Record<string, unknown>): Capability[] | string {
  const listed = body.capabilities === undefined ? [] : body.capabilities;
  if (!Array.isArray(listed) || !listed.every((c) => typeof c === "string")) {
    return `capabilities must be a list of strings, like ["read"]`;
  }
  let names: string[] = listed;
  if (body.policy !== undefined) {
    // Own keys only: a policy named "constructor" must not find Object's.
    const old = typeof body.policy === "string" && Object.hasOwn(OLD_POLICIES, body.policy) ? OLD_POLICIES[body.policy] : undefined;
    if (!old) return `invalid policy ${quoteValue(body.policy)} (deny, read, write or sudo)`;
    // As parsePaths: policy "deny" replaces the list, the others add to it.
    names = body.policy === "deny" ? [...old] : [...names, ...old];
  }
  const unknown = names.find((c) => !(CAPABILITIES as readonly string[]).includes(c));
  if (unknown !== undefined) return `invalid capability ${quoteValue(unknown)} (one of ${CAPABILITIES.join(", ")})`;
  // A deny anywhere in the rule leaves deny alone.
  if (names.includes("deny")) return ["deny"];
  return CAPABILITIES.filter((c) => names.includes(c));
}

// ------------------------------------------------------------------ built-ins

/** The root policy: every capability on every path. Only the root token has it, and alone. */
export const ROOT_POLICY: Policy = deepFreeze({ name: ROOT_POLICY_NAME, paths: [], raw: "" });

/**
 * The part of Vault's `default` policy (policy_store.go defaultPolicy) that concerns
 * tokens and leases. Left out: cubbyhole, response wrapping, sys/tools, identity,
 * OIDC, control groups and the UI's resultant-acl, which this server does not serve.
 */
export const DEFAULT_POLICY_DOCUMENT = JSON.stringify(
  {
    path: {
      "auth/token/lookup-self": { capabilities: ["read"] },
      "auth/token/renew-self": { capabilities: ["update"] },
      "auth/token/revoke-self": { capabilities: ["update"] },
      "sys/capabilities-self": { capabilities: ["update"] },
      "sys/renew": { capabilities: ["update"] },
      "sys/leases/renew": { capabilities: ["update"] },
      "sys/leases/lookup": { capabilities: ["update"] },
    },
  },
  null,
  2,
);

export const DEFAULT_POLICY: Policy = deepFreeze(parsePolicy(DEFAULT_POLICY_NAME, DEFAULT_POLICY_DOCUMENT));

// ------------------------------------------------------------------ the ACL

/** A rule's merged capabilities; a set holding "deny" holds nothing else. */
type Grant = ReadonlySet<Capability>;

/** A non-exact rule that matched, with what Vault's `less` ranks it by. */
interface Candidate {
  firstWildcard: number;
  isPrefix: boolean;
  wildcards: number;
  path: string;
  grant: Grant;
}

export interface AllowedOptions {
  /**
   * The request is a LIST. Vault then also tries the path without its trailing "/"
   * (AllowOperation); `allowed(path, "list")` does so on its own. Pass it to check
   * "sudo" for a LIST request against the same rule.
   */
  listRequest?: boolean;
}

/** The policies of one token merged into one ACL, as Vault's NewACL builds it. */
export class Acl {
  /** The token has the root policy: everything is allowed. */
  readonly isRoot: boolean;
  private readonly exact = new Map<string, Grant>();
  private readonly prefix = new Map<string, Grant>();
  private readonly segment = new Map<string, Grant>();

  constructor(policies: readonly Policy[]) {
    this.isRoot = policies.some((p) => p.name === ROOT_POLICY_NAME);
    // NewACL refuses root with anything else: a root token carries the root policy alone.
    if (this.isRoot && policies.length !== 1) throw ValidationError.of("policies", "other policies present along with root");
    for (const policy of policies) {
      for (const rule of policy.paths) merge(this.tableOf(rule.kind), rule.path, rule.capabilities);
    }
  }

  /**
   * The capabilities the applying rule grants on `path`, as Vault's sys/capabilities-self
   * works them out: {"deny"} when the rule denies or no rule applies; every capability
   * but deny for root. Like Vault's, this lookup is a LIST's (a trailing "/" may fall back).
   */
  capabilities(path: string): Set<Capability> {
    if (this.isRoot) return new Set(GRANTS);
    const grant = this.lookup(path, true);
    if (!grant || grant.has("deny") || grant.size === 0) return new Set<Capability>(["deny"]);
    return new Set(grant);
  }

  /**
   * Whether a request needing `capability` on `path` may go on: false when no rule
   * applies or the applying rule has deny. Asking for "deny" itself is always false.
   */
  allowed(path: string, capability: Capability, options: AllowedOptions = {}): boolean {
    if (capability === "deny") return false;
    if (this.isRoot) return true;
    const grant = this.lookup(path, capability === "list" || options.listRequest === true);
    return grant !== undefined && !grant.has("deny") && grant.has(capability);
  }

  /** The list Vault's capabilities endpoints answer: ["root"], ["deny"], or grants in Vault's order. */
  vaultCapabilities(path: string): string[] {
    if (this.isRoot) return ["root"];
    const caps = this.capabilities(path);
    return caps.has("deny") ? ["deny"] : VAULT_ANSWER_ORDER.filter((c) => caps.has(c));
  }

  private tableOf(kind: RuleKind): Map<string, Grant> {
    return kind === "exact" ? this.exact : kind === "prefix" ? this.prefix : this.segment;
  }

  /** The grant of the rule that applies to `requestPath` (AllowOperation's search order). */
  private lookup(requestPath: string, list: boolean): Grant | undefined {
    const path = requestPath.replace(/^\/+/, "");
    const exact = this.exact.get(path) ?? (list ? this.exact.get(trimSlash(path)) : undefined);
    if (exact) return exact;
    // A LIST first tries without the trailing "/", where a glob like "foo*" may match.
    if (list && path.endsWith("/")) {
      const grant = this.nonExact(trimSlash(path));
      if (grant) return grant;
    }
    return this.nonExact(path);
  }

  /** CheckAllowedFromNonExactPaths: the longest prefix rule and the matching segment rules, best by `less`. */
  private nonExact(path: string): Grant | undefined {
    const candidates: Candidate[] = [];
    if (this.prefix.size > 0) {
      for (let end = path.length; end >= 0; end--) {
        const key = path.slice(0, end);
        const grant = this.prefix.get(key);
        if (!grant) continue;
        if (this.segment.size === 0) return grant;
        candidates.push({ firstWildcard: key.length, isPrefix: true, wildcards: 0, path: key, grant });
        break;
      }
    }
    if (this.segment.size === 0) return undefined;

    const parts = path.split("/");
    for (const [fullPath, grant] of this.segment) {
      const match = matchSegments(fullPath, parts);
      if (match) candidates.push({ ...match, grant });
    }
    if (candidates.length === 0) return undefined;
    return candidates.reduce((best, c) => (lowerPriority(best, c) ? c : best)).grant;
  }
}

/** NewACL's merge of one rule into its table: union, but a deny on either side wins alone. */
function merge(table: Map<string, Grant>, key: string, capabilities: readonly Capability[]): void {
  const existing = table.get(key);
  if (!existing) {
    table.set(key, new Set(capabilities));
  } else if (existing.has("deny")) {
    // Already denied: nothing else is kept.
  } else if (capabilities.includes("deny")) {
    table.set(key, new Set<Capability>(["deny"]));
  } else {
    table.set(key, new Set([...existing, ...capabilities]));
  }
}

/** Whether a segment rule matches the request's segments, and how it ranks if so. */
function matchSegments(fullPath: string, parts: string[]): Omit<Candidate, "grant"> | undefined {
  const isPrefix = fullPath.endsWith("*");
  const path = isPrefix ? fullPath.slice(0, -1) : fullPath;
  const ruleParts = path.split("/");
  // Fewer segments never match; without a trailing "*" the counts must be equal.
  if (parts.length < ruleParts.length) return undefined;
  if (!isPrefix && parts.length !== ruleParts.length) return undefined;

  let wildcards = 0;
  for (let i = 0; i < ruleParts.length; i++) {
    const rulePart = ruleParts[i];
    if (rulePart === "+") wildcards++;
    else if (rulePart === parts[i]) continue;
    // The glob only stretches the last segment: "ba*" takes "baz/and/more".
    else if (isPrefix && i === ruleParts.length - 1 && parts[i].startsWith(rulePart)) continue;
    else return undefined;
  }
  return { firstWildcard: fullPath.indexOf("+"), isPrefix, wildcards, path };
}

/**
 * Vault's `less` (the priority rules in its policies docs): a has lower priority than b
 * when its first "+" or "*" comes earlier, it ends in "*" and b does not, it has more
 * "+" segments, it is shorter, or it is smaller lexicographically (in that order).
 */
function lowerPriority(a: Candidate, b: Candidate): boolean {
  if (a.firstWildcard !== b.firstWildcard) return a.firstWildcard < b.firstWildcard;
  if (a.isPrefix !== b.isPrefix) return a.isPrefix;
  if (a.wildcards !== b.wildcards) return a.wildcards > b.wildcards;
  if (a.path.length !== b.path.length) return a.path.length < b.path.length;
  return a.path < b.path;
}

// ------------------------------------------------------------------ helpers

function trimSlash(path: string): string {
  return path.endsWith("/") ? path.slice(0, -1) : path;
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

function kindOf(value: unknown): string {
  if (value === null) return "null";
  if (Array.isArray(value)) return "a list";
  return `a ${typeof value}`;
}

function deepFreeze<T>(value: T): T {
  if (typeof value === "object" && value !== null && !Object.isFrozen(value)) {
    Object.freeze(value);
    for (const inner of Object.values(value)) deepFreeze(inner);
  }
  return value;
}
