// Vault's ACL semantics (service/auth/acl.ts). Many cases are Vault's own: the
// examples of website/content/docs/concepts/policies.mdx and the tables of
// vault/acl_test.go, with its HCL fixtures written in the JSON form.
import { describe, expect, it } from "vitest";
import { Acl, CAPABILITIES, DEFAULT_POLICY, ROOT_POLICY, parsePolicy } from "../../service/auth/acl";
import type { Capability, Policy } from "../../service/auth/acl";
import { failureOf } from "../support/fixtures";

type Rules = Record<string, Record<string, unknown>>;

/** A policy of `path` rules; a bare capability list is shorthand for {capabilities: [...]}. */
function policy(name: string, rules: Record<string, string[] | Record<string, unknown>>): Policy {
  const path: Rules = {};
  for (const [pattern, rule] of Object.entries(rules)) path[pattern] = Array.isArray(rule) ? { capabilities: rule } : rule;
  return parsePolicy(name, { path });
}

const acl = (...policies: Policy[]) => new Acl(policies);
const sorted = (caps: Set<Capability>) => [...caps].sort();
const messageOf = (fn: () => unknown) => failureOf(fn).message;

// ------------------------------------------------------------------ parsing

describe("parsePolicy", () => {
  const example = {
    path: {
      "aws/creds/deploy": { capabilities: ["read", "update"] },
      "aws/roles/*": { capabilities: ["list"] },
      "sys/leases/+/aws/*": { capabilities: ["update"] },
    },
  };

  it("reads Vault's JSON form into exact, prefix and segment rules", () => {
    expect(parsePolicy("deploy", example).paths).toEqual([
      { pattern: "aws/creds/deploy", path: "aws/creds/deploy", kind: "exact", capabilities: ["read", "update"] },
      // A prefix rule loses its "*"; a segment rule keeps it (policy.go parsePaths).
      { pattern: "aws/roles/*", path: "aws/roles/", kind: "prefix", capabilities: ["list"] },
      { pattern: "sys/leases/+/aws/*", path: "sys/leases/+/aws/*", kind: "segment", capabilities: ["update"] },
    ]);
  });

  it("takes the JSON text as well as the object, keeps the text and normalizes the name like Vault", () => {
    const text = JSON.stringify(example);
    const parsed = parsePolicy("  DePloy ", text);
    expect(parsed.name).toBe("deploy");
    expect(parsed.raw).toBe(text);
    expect(parsed.paths).toEqual(parsePolicy("deploy", example).paths);
    expect(parsePolicy("empty", {}).paths).toEqual([]);
  });

  it("trims one leading / from a pattern, as Vault does", () => {
    const [one, two] = parsePolicy("p", { path: { "/aws/creds/x": { capabilities: ["read"] }, "//y": { capabilities: ["read"] } } }).paths;
    expect(one.path).toBe("aws/creds/x");
    expect(two.path).toBe("/y");
  });

  it("a deny in a rule leaves deny alone; the old `policy` shorthand maps as in Vault", () => {
    const p = policy("p", {
      a: ["read", "deny", "update"],
      b: { policy: "write" },
      c: { policy: "read", capabilities: ["update", "sudo"] },
      d: { policy: "deny", capabilities: ["read"] },
      e: { policy: "sudo" },
    });
    expect(p.paths.map((r) => r.capabilities)).toEqual([
      ["deny"],
      ["create", "read", "update", "delete", "list"],
      ["read", "update", "list", "sudo"],
      ["deny"],
      ["create", "read", "update", "delete", "list", "sudo"],
    ]);
  });

  it("an unknown capability names the path and the capability", () => {
    const failure = failureOf(() => policy("p", { "aws/creds/x": ["read", "raed"] }));
    expect(failure.failures).toEqual([{ field: "policy", reason: expect.stringContaining('path "aws/creds/x": invalid capability "raed"') }]);
    // Capabilities are case-sensitive in Vault.
    expect(messageOf(() => policy("p", { a: ["Read"] }))).toContain('invalid capability "Read"');
    expect(messageOf(() => policy("p", { a: { policy: "admin" } }))).toContain('path "a": invalid policy "admin"');
    expect(messageOf(() => policy("p", { a: { policy: "constructor" } }))).toContain('path "a": invalid policy "constructor"');
  });

  it("a * anywhere but at the end names the path; so does Vault's forbidden +*", () => {
    expect(messageOf(() => policy("p", { "aws/*/creds": ["read"] }))).toBe('policy: path "aws/*/creds": "*" is only allowed as the last character');
    expect(messageOf(() => policy("p", { "aws/**": ["read"] }))).toContain('path "aws/**"');
    expect(messageOf(() => policy("p", { "aws/+*": ["read"] }))).toContain("'+*' is forbidden");
    expect(policy("p", { "aws/+/cre*": ["read"] }).paths[0].kind).toBe("segment");
  });

  it("a rule that is not an object names the path", () => {
    expect(messageOf(() => parsePolicy("p", { path: { "aws/creds/x": "read" } }))).toBe(
      'policy: path "aws/creds/x": must be an object like {"capabilities": ["read"]}, got a string',
    );
    expect(messageOf(() => parsePolicy("p", { path: { "aws/x": ["read"] } }))).toContain('path "aws/x": must be an object');
    expect(messageOf(() => parsePolicy("p", { path: { "aws/x": { capabilities: "read" } } }))).toContain(
      'path "aws/x": capabilities must be a list of strings',
    );
  });

  it("a document that is not an object is refused, and so is HCL", () => {
    for (const bad of ["[1]", "null", "7", '"path"'])
      expect(
        messageOf(() => parsePolicy("p", bad)),
        bad,
      ).toMatch(/^policy: must be a JSON object/);
    expect(messageOf(() => parsePolicy("p", [] as object))).toContain("got a list");
    expect(messageOf(() => parsePolicy("p", 'path "aws/*" { capabilities = ["read"] }'))).toMatch(/^policy: is not JSON .*HCL is not supported$/);
    expect(messageOf(() => parsePolicy("p", "  "))).toBe("policy: policy is empty");
    expect(messageOf(() => parsePolicy("p", { path: ["aws/*"] }))).toContain('"path" must be an object of path rules');
  });

  it("refuses unknown keys, and constraints it cannot enforce unless the rule denies", () => {
    expect(messageOf(() => parsePolicy("p", { paths: {} }))).toContain('invalid key "paths"');
    expect(messageOf(() => policy("p", { a: { capability: ["read"] } }))).toBe('policy: path "a": invalid key "capability"');
    expect(messageOf(() => policy("p", { a: { capabilities: ["update"], allowed_parameters: { ttl: [] } } }))).toContain(
      'path "a": "allowed_parameters" is not supported',
    );
    // Vault skips the parameters of a deny rule, so they cannot widen anything here.
    expect(policy("p", { a: { capabilities: ["deny"], denied_parameters: { "*": [] } } }).paths[0].capabilities).toEqual(["deny"]);
    expect(policy("p", { a: { comment: "why", capabilities: ["read"] } }).paths[0].capabilities).toEqual(["read"]);
    expect(messageOf(() => policy("p", { "secret/{{identity.entity.id}}/*": ["read"] }))).toContain("templated paths");
  });

  it("reports every bad path of one policy in one error", () => {
    const failure = failureOf(() => policy("p", { a: ["nope"], b: ["read"], "c/*/d": ["read"] }));
    expect(failure.failures.map((f) => f.reason.split(":")[0])).toEqual(['path "a"', 'path "c/*/d"']);
    expect(failure.message).toMatch(/\(and 1 more\)$/);
  });

  it("refuses the names Vault keeps for itself, and an empty name", () => {
    expect(failureOf(() => parsePolicy("Root", {})).failures).toEqual([{ field: "name", reason: 'cannot update "root" policy' }]);
    expect(messageOf(() => parsePolicy("response-wrapping", {}))).toContain("cannot update");
    expect(messageOf(() => parsePolicy(" ", {}))).toBe("name: policy name missing");
    expect(parsePolicy("default", {}).name).toBe("default");
  });
});

// ------------------------------------------------------------------ matching and priority

describe("Acl matching", () => {
  it("an exact path beats a glob that also matches", () => {
    const a = acl(policy("p", { "secret/*": ["read"], "secret/foo": ["update"] }));
    expect(sorted(a.capabilities("secret/foo"))).toEqual(["update"]);
    expect(a.allowed("secret/foo", "read")).toBe(false);
    expect(a.allowed("secret/bar", "read")).toBe(true);
  });

  it("an exact allow beats a glob deny: deny wins only within the rule that applies", () => {
    const a = acl(policy("p", { "secret/*": ["deny"] }), policy("q", { "secret/open": ["read"] }));
    expect(a.allowed("secret/open", "read")).toBe(true);
    expect(a.allowed("secret/other", "read")).toBe(false);
  });

  it("a longer prefix glob beats a shorter one", () => {
    const a = acl(policy("p", { "secret/*": ["read"], "secret/team/*": ["list"] }));
    expect(sorted(a.capabilities("secret/team/x"))).toEqual(["list"]);
    expect(a.allowed("secret/team/x", "read")).toBe(false);
    expect(a.allowed("secret/teamx", "read")).toBe(true);
  });

  it("the docs' exact and glob examples", () => {
    const a = acl(
      policy("p", {
        // Permit reading only "secret/foo". An attached token cannot read "secret/food" or "secret/foo/bar".
        "secret/foo": ["read"],
        // Permit reading everything under "secret/bar". An attached token could read
        // "secret/bar/zip", "secret/bar/zip/zap", but not "secret/bars/zip".
        "secret/bar/*": ["read"],
        // Permit reading everything prefixed with "zip-". An attached token could read
        // "secret/zip-zap" or "secret/zip-zap/zong", but not "secret/zip/zap"
        "secret/zip-*": ["read"],
      }),
    );
    for (const yes of ["secret/foo", "secret/bar/zip", "secret/bar/zip/zap", "secret/zip-zap", "secret/zip-zap/zong"]) {
      expect(a.allowed(yes, "read"), yes).toBe(true);
    }
    for (const no of ["secret/food", "secret/foo/bar", "secret/bars/zip", "secret/zip/zap"]) expect(a.allowed(no, "read"), no).toBe(false);
  });

  it("+ matches exactly one path segment (the docs' examples)", () => {
    const a = acl(
      policy("p", {
        // Permit reading the "teamb" path under any top-level path under secret/
        "secret/+/teamb": ["read"],
        // Permit reading secret/foo/bar/teamb, secret/bar/foo/teamb, etc.
        "secret/+/+/teamb": ["list"],
      }),
    );
    expect(sorted(a.capabilities("secret/foo/teamb"))).toEqual(["read"]);
    expect(sorted(a.capabilities("secret/foo/bar/teamb"))).toEqual(["list"]);
    expect(sorted(a.capabilities("secret/bar/foo/teamb"))).toEqual(["list"]);
    // Not zero segments, not three, and not a longer path.
    for (const no of ["secret/teamb", "secret/a/b/c/teamb", "secret/foo/teamb/x", "secret/foo/teambs"]) {
      expect(a.allowed(no, "read") || a.allowed(no, "list"), no).toBe(false);
    }
  });

  it("a + segment rule with a trailing * (the lease example) needs its segments, then takes any rest", () => {
    const a = acl(policy("p", { "sys/leases/+/aws/*": ["update"] }));
    expect(a.allowed("sys/leases/lookup/aws/creds/deploy/AbC", "update")).toBe(true);
    expect(a.allowed("sys/leases/revoke/aws/", "update")).toBe(true);
    expect(a.allowed("sys/leases/lookup/aws", "update")).toBe(false);
    expect(a.allowed("sys/leases/lookup/gcp/creds/x", "update")).toBe(false);
    expect(a.allowed("sys/leases/a/b/aws/x", "update")).toBe(false);
  });

  it('the docs\' priority example: "secret/+/+/foo/*" ranks below "secret/*" by rule 3', () => {
    // "given the two paths, "secret/*" and "secret/+/+/foo/*", the first wildcard appears in the
    // same place, both end in * and the latter has two wildcard segments while the former has
    // zero. So we end at rule (3), and give "secret/+/+/foo/*" lower priority."
    const a = acl(policy("p", { "secret/*": ["read"], "secret/+/+/foo/*": ["update"] }));
    expect(sorted(a.capabilities("secret/a/b/foo/c"))).toEqual(["read"]);
    expect(a.allowed("secret/a/b/foo/c", "update")).toBe(false);
  });

  // vault/acl_test.go TestACL_SegmentWildcardPriority: in each pair the update rule wins.
  const priorityCases: Array<{ why: string; read: string; update: string; path: string }> = [
    {
      why: "'*' is more specific both because of first wildcard position (0 vs -1/infinity) and #wildcards",
      read: "+/*",
      update: "*",
      path: "foo/bar/bar/baz",
    },
    { why: "'+/*' is less specific because of first wildcard position", read: "+/*", update: "foo/+/*", path: "foo/bar/bar/baz" },
    { why: "more wildcard segments is lower priority", read: "foo/+/+/*", update: "foo/+/bar/baz", path: "foo/bar/bar/baz" },
    { why: "more wildcard segments is lower priority", read: "foo/+/+/baz", update: "foo/+/bar/baz", path: "foo/bar/bar/baz" },
    { why: "first wildcard position is lower priority ('(' sorts before '+')", read: "foo/+/(ar/baz", update: "foo/(ar/+/baz", path: "foo/(ar/(ar/baz" },
    { why: "a glob has lower priority, even if the prefix is the same otherwise", read: "foo/bar/+/baz*", update: "foo/bar/+/baz", path: "foo/bar/bar/baz" },
    { why: "a shorter prefix has lower priority", read: "foo/bar/+/b*", update: "foo/bar/+/ba*", path: "foo/bar/bar/baz" },
  ];
  for (const c of priorityCases) {
    it(`priority: ${c.update} over ${c.read} (${c.why})`, () => {
      // Both orders of the rules: the winner must not depend on it.
      for (const rules of [
        { [c.read]: ["read"], [c.update]: ["update"] },
        { [c.update]: ["update"], [c.read]: ["read"] },
      ]) {
        const a = acl(policy("p", rules));
        expect(a.allowed(c.path, "update")).toBe(true);
        expect(a.allowed(c.path, "read")).toBe(false);
      }
    });
  }

  it("a request path's leading slashes are ignored", () => {
    const a = acl(policy("p", { "aws/creds/deploy": ["read"], "aws/roles/*": ["list"] }));
    expect(a.allowed("/aws/creds/deploy", "read")).toBe(true);
    expect(a.allowed("//aws/roles/x", "list")).toBe(true);
    expect(a.allowed("/aws/creds/other", "read")).toBe(false);
  });

  it("a rule with no capabilities still applies, and grants nothing", () => {
    const a = acl(policy("p", { "secret/*": ["read"], "secret/locked": { comment: "nothing here" } }));
    expect(a.allowed("secret/locked", "read")).toBe(false);
    expect(sorted(a.capabilities("secret/locked"))).toEqual(["deny"]);
    expect(a.allowed("secret/open", "read")).toBe(true);
  });

  it("a LIST falls back to the path without its trailing / (AllowOperation); other requests do not", () => {
    const a = acl(policy("p", { "sys/leases/lookup/aws/creds": ["list", "sudo", "read"] }));
    expect(a.allowed("sys/leases/lookup/aws/creds/", "list")).toBe(true);
    expect(a.allowed("sys/leases/lookup/aws/creds/", "read")).toBe(false);
    // sudo for a LIST request is checked against the rule the LIST found.
    expect(a.allowed("sys/leases/lookup/aws/creds/", "sudo")).toBe(false);
    expect(a.allowed("sys/leases/lookup/aws/creds/", "sudo", { listRequest: true })).toBe(true);
  });
});

// ------------------------------------------------------------------ merging

describe("Acl merging", () => {
  it("capabilities of the same pattern in two policies are unioned", () => {
    const a = acl(policy("p", { "aws/creds/deploy": ["read"], "aws/*": ["list"] }), policy("q", { "aws/creds/deploy": ["update"], "aws/*": ["read"] }));
    expect(sorted(a.capabilities("aws/creds/deploy"))).toEqual(["read", "update"]);
    expect(sorted(a.capabilities("aws/roles/x"))).toEqual(["list", "read"]);
  });

  it("deny in one policy overrides allow in another for the same path, in either order", () => {
    const allow = policy("allow", { "aws/creds/deploy": ["read", "update", "sudo"], "aws/roles/+": ["read"] });
    const deny = policy("deny", { "aws/creds/deploy": ["deny"], "aws/roles/+": ["deny"] });
    for (const a of [acl(allow, deny), acl(deny, allow)]) {
      expect(sorted(a.capabilities("aws/creds/deploy"))).toEqual(["deny"]);
      for (const cap of CAPABILITIES) expect(a.allowed("aws/creds/deploy", cap), cap).toBe(false);
      expect(a.allowed("aws/roles/x", "read")).toBe(false);
    }
    // A third policy granting more afterwards changes nothing.
    expect(acl(allow, deny, policy("more", { "aws/creds/deploy": ["create"] })).allowed("aws/creds/deploy", "create")).toBe(false);
  });

  it("the docs' example: secret/* grants all, secret/super-secret denies", () => {
    const a = acl(
      policy("p", {
        "secret/*": ["create", "read", "update", "patch", "delete", "list"],
        // Even though we allowed secret/*, this line explicitly denies secret/super-secret. This takes precedence.
        "secret/super-secret": ["deny"],
      }),
    );
    expect(a.allowed("secret/super-secret", "read")).toBe(false);
    expect(a.allowed("secret/other", "patch")).toBe(true);
  });
});

// ------------------------------------------------------------------ Vault's own tables

// vault/acl_test.go's aclPolicy ("DeV") and aclPolicy2 ("OpS"), in the JSON form
// ("recover" dropped: not a capability here).
const devPolicy = () =>
  parsePolicy("DeV", {
    path: {
      "dev/*": { policy: "sudo" },
      "stage/*": { policy: "write" },
      "stage/aws/*": { policy: "read", capabilities: ["update", "sudo"] },
      "stage/aws/policy/*": { policy: "sudo" },
      "prod/*": { policy: "read" },
      "prod/aws/*": { policy: "deny" },
      "sys/*": { policy: "deny" },
      "foo/bar": { capabilities: ["read", "create", "sudo"] },
      "baz/quux": { capabilities: ["read", "create", "patch"] },
      "test/+/segment": { capabilities: ["read"] },
      "+/segment/at/front": { capabilities: ["read"] },
      "test/segment/at/end/+": { capabilities: ["read"] },
      "test/segment/at/end/v2/+/": { capabilities: ["read"] },
      "test/+/wildcard/+/*": { capabilities: ["read"] },
      "test/+/wildcardglob/+/end*": { capabilities: ["read"] },
      "1/2/*": { capabilities: ["create"] },
      "1/2/+": { capabilities: ["read"] },
      "1/2/+/+": { capabilities: ["update"] },
    },
  });
const opsPolicy = () =>
  parsePolicy("OpS", {
    path: {
      "dev/hide/*": { policy: "deny" },
      // "This should have no effect"
      "stage/aws/policy/*": { policy: "deny", capabilities: ["read", "update", "sudo"] },
      "prod/*": { policy: "write" },
      "sys/seal": { policy: "sudo" },
      "foo/bar": { capabilities: ["deny"] },
      "baz/quux": { capabilities: ["deny"] },
    },
  });

type Case = [Capability, string, boolean, boolean];

/** Each row: the operation's capability, the path, allowed, and sudo ("RootPrivs") on that rule. */
function checkTable(a: Acl, rows: Case[]): void {
  for (const [cap, path, allowed, sudo] of rows) {
    const listRequest = cap === "list";
    expect(a.allowed(path, cap), `${cap} ${path}`).toBe(allowed);
    expect(a.allowed(path, "sudo", { listRequest }), `sudo on ${cap} ${path}`).toBe(sudo);
  }
}

describe("Vault's acl_test.go tables", () => {
  it("TestACL_Single", () => {
    checkTable(acl(devPolicy()), [
      ["read", "root", false, false],
      ["read", "dev/foo", true, true],
      ["update", "dev/foo", true, true],
      ["delete", "stage/foo", true, false],
      ["list", "stage/aws/foo", true, true],
      ["update", "stage/aws/foo", true, true],
      ["update", "stage/aws/policy/foo", true, true],
      ["delete", "prod/foo", false, false],
      ["update", "prod/foo", false, false],
      ["read", "prod/foo", true, false],
      ["list", "prod/foo", true, false],
      ["read", "prod/aws/foo", false, false],
      ["read", "foo/bar", true, true],
      ["list", "foo/bar", false, true],
      ["update", "foo/bar", false, true],
      ["create", "foo/bar", true, true],
      ["read", "baz/quux", true, false],
      ["create", "baz/quux", true, false],
      ["patch", "baz/quux", true, false],
      ["list", "baz/quux", false, false],
      ["update", "baz/quux", false, false],
      // Path segment wildcards
      ["read", "test/foo/bar/segment", false, false],
      ["read", "test/foo/segment", true, false],
      ["read", "test/bar/segment", true, false],
      ["read", "test/segment/at/frond", false, false],
      ["read", "test/segment/at/front", true, false],
      ["read", "test/segment/at/end/foo", true, false],
      ["read", "test/segment/at/end/foo/", false, false],
      ["read", "test/segment/at/end/v2/foo/", true, false],
      ["read", "test/segment/wildcard/at/foo/", true, false],
      ["read", "test/segment/wildcard/at/end", true, false],
      ["read", "test/segment/wildcard/at/end/", true, false],
      // Path segment wildcards vs glob
      ["read", "1/2/3/4", false, false],
      ["read", "1/2/3", true, false],
      ["update", "1/2/3", false, false],
      ["update", "1/2/3/4", true, false],
      ["create", "1/2/3/4/5", true, false],
    ]);
  });

  it("TestACL_Layered", () => {
    checkTable(acl(devPolicy(), opsPolicy()), [
      ["read", "root", false, false],
      ["read", "dev/foo", true, true],
      ["update", "dev/foo", true, true],
      ["read", "dev/hide/foo", false, false],
      ["update", "dev/hide/foo", false, false],
      ["delete", "stage/foo", true, false],
      ["list", "stage/aws/foo", true, true],
      ["update", "stage/aws/foo", true, true],
      ["update", "stage/aws/policy/foo", false, false],
      ["delete", "prod/foo", true, false],
      ["update", "prod/foo", true, false],
      ["read", "prod/foo", true, false],
      ["list", "prod/foo", true, false],
      ["read", "prod/aws/foo", false, false],
      ["read", "sys/status", false, false],
      ["update", "sys/seal", true, true],
      ["read", "foo/bar", false, false],
      ["list", "foo/bar", false, false],
      ["update", "foo/bar", false, false],
      ["create", "foo/bar", false, false],
      ["read", "baz/quux", false, false],
      ["list", "baz/quux", false, false],
      ["update", "baz/quux", false, false],
      ["create", "baz/quux", false, false],
      ["patch", "baz/quux", false, false],
    ]);
  });

  it("testACLCapabilities: what sys/capabilities-self answers", () => {
    const a = acl(devPolicy());
    expect(a.vaultCapabilities("dev")).toEqual(["deny"]);
    expect(a.vaultCapabilities("dev/")).toEqual(["sudo", "read", "list", "update", "delete", "create"]);
    expect(a.vaultCapabilities("stage/aws/test")).toEqual(["sudo", "read", "list", "update"]);
    expect(sorted(a.capabilities("stage/aws/test"))).toEqual(["list", "read", "sudo", "update"]);
  });
});

// ------------------------------------------------------------------ built-ins and edges

describe("built-in policies and edges", () => {
  it("root allows everything, and only alone", () => {
    const a = acl(ROOT_POLICY);
    expect(a.isRoot).toBe(true);
    for (const path of ["sys/seal", "aws/creds/deploy", "/", ""]) {
      for (const cap of CAPABILITIES.filter((c) => c !== "deny")) expect(a.allowed(path, cap), `${cap} ${path}`).toBe(true);
    }
    expect(sorted(a.capabilities("any/path"))).toEqual(["create", "delete", "list", "patch", "read", "sudo", "update"]);
    expect(a.vaultCapabilities("any/path")).toEqual(["root"]);
    expect(messageOf(() => acl(ROOT_POLICY, DEFAULT_POLICY))).toBe("policies: other policies present along with root");
  });

  it("an empty ACL allows nothing", () => {
    const a = acl();
    expect(a.isRoot).toBe(false);
    for (const cap of CAPABILITIES) expect(a.allowed("aws/creds/deploy", cap), cap).toBe(false);
    expect(sorted(a.capabilities("aws/creds/deploy"))).toEqual(["deny"]);
    expect(a.vaultCapabilities("")).toEqual(["deny"]);
    expect(acl(parsePolicy("nothing", {})).allowed("x", "read")).toBe(false);
  });

  it("the default policy lets a token manage itself and renew and look up leases, and nothing more", () => {
    const a = acl(DEFAULT_POLICY);
    expect(DEFAULT_POLICY.name).toBe("default");
    expect(a.allowed("auth/token/lookup-self", "read")).toBe(true);
    for (const path of ["auth/token/renew-self", "auth/token/revoke-self", "sys/capabilities-self", "sys/leases/renew", "sys/leases/lookup", "sys/renew"]) {
      expect(a.allowed(path, "update"), path).toBe(true);
      expect(a.allowed(path, "read"), path).toBe(false);
    }
    expect(a.allowed("auth/token/lookup-self", "update")).toBe(false);
    expect(a.allowed("sys/leases/revoke", "update")).toBe(false);
    expect(a.allowed("sys/leases/lookup/aws/creds/", "list")).toBe(false);
    expect(a.allowed("aws/creds/deploy", "read")).toBe(false);
  });

  it("the built-in policies cannot be changed in place", () => {
    expect(Object.isFrozen(DEFAULT_POLICY.paths[0].capabilities)).toBe(true);
    expect(() => (DEFAULT_POLICY.paths as PathRuleList).push(DEFAULT_POLICY.paths[0])).toThrow(TypeError);
  });
});

type PathRuleList = Policy["paths"][number][];
