import { createHash } from "node:crypto";
import { describe, expect, it } from "vitest";
import { DEFAULT_USERNAME_TEMPLATE, normaliseName, parseUsernameTemplate, renderUsername, type UsernameContext } from "../../provider/usernameTemplate";
import { failureOf } from "../support/fixtures";

// Vault's default username_template, verbatim from path_config_root.go.
const VAULT_DEFAULT_TEMPLATE =
  '{{ if (eq .Type "STS") }}{{ printf "vault-%s-%s" (unix_time) (random 20) | truncate 32 }}{{ else }}{{ printf "vault-%s-%s-%s" (printf "%s-%s" (.DisplayName) (.PolicyName) | truncate 42) (unix_time) (random 20) | truncate 64 }}{{ end }}';

const NOW = new Date(Date.UTC(2024, 1, 3, 4, 5, 6, 789)); // 2024-02-03T04:05:06.789Z
const NOW_UNIX = String(Math.floor(NOW.getTime() / 1000));
const iam = { type: "IAM" as const, roleName: "deploy", mount: "aws", now: NOW };
const sts = { type: "STS" as const, roleName: "deploy", mount: "aws", now: NOW };

describe("DEFAULT_USERNAME_TEMPLATE", () => {
  it("renders awslease-<mount>-<role>-<unix_time>-<random 20> for IAM", () => {
    const name = renderUsername(undefined, iam);
    expect(name).toMatch(new RegExp(`^awslease-aws-deploy-${NOW_UNIX}-[A-Za-z0-9]{20}$`));
    expect(name.length).toBeLessThanOrEqual(64);
  });

  it("renders awslease-<unix_time>-<random> cut to 32 for STS", () => {
    const name = renderUsername(undefined, sts);
    expect(name).toMatch(new RegExp(`^awslease-${NOW_UNIX}-[A-Za-z0-9]{12}$`));
    expect(name).toHaveLength(32);
  });

  it("treats an empty template as the default", () => {
    expect(renderUsername("", iam)).toMatch(/^awslease-aws-deploy-/);
  });

  it("cuts mount-role to 39 characters, keeping 4 random characters within 64", () => {
    const name = renderUsername(undefined, { ...iam, roleName: "r".repeat(64), mount: "team-prod" });
    expect(name).toHaveLength(64);
    const mountAndRole = "team-prod-" + "r".repeat(29); // 39 characters
    expect(name).toMatch(new RegExp(`^awslease-${mountAndRole}-${NOW_UNIX}-[A-Za-z0-9]{4}$`));
  });

  it("uses fresh randomness on every call", () => {
    const names = new Set(Array.from({ length: 5 }, () => renderUsername(undefined, iam)));
    expect(names.size).toBe(5);
    const stsNames = new Set(Array.from({ length: 5 }, () => renderUsername(undefined, sts)));
    expect(stsNames.size).toBe(5);
  });

  it("has the structure of Vault's default with the awslease prefix", () => {
    // "awslease-" is 3 characters longer than "vault-": the display/policy part is cut
    // to 39 instead of 42 so that, like Vault's, 4 random characters survive the cut to 64.
    expect(DEFAULT_USERNAME_TEMPLATE).toBe(VAULT_DEFAULT_TEMPLATE.replace(/"vault-/g, '"awslease-').replace("truncate 42", "truncate 39"));
  });
});

describe("Vault's default template, verbatim", () => {
  it("parses", () => {
    expect(() => parseUsernameTemplate(VAULT_DEFAULT_TEMPLATE)).not.toThrow();
  });

  it("renders IAM names with the normalised display name", () => {
    const name = renderUsername(VAULT_DEFAULT_TEMPLATE, { ...iam, displayName: "oidc-jane doe/admin" });
    expect(name).toMatch(new RegExp(`^vault-oidc-jane_doe_admin-deploy-${NOW_UNIX}-[A-Za-z0-9]{20}$`));
  });

  it("renders STS names of 32 characters", () => {
    const name = renderUsername(VAULT_DEFAULT_TEMPLATE, sts);
    expect(name).toMatch(new RegExp(`^vault-${NOW_UNIX}-[A-Za-z0-9]{15}$`));
  });

  it("keeps only 4 random characters with a 42-character display/policy part (the documented arithmetic)", () => {
    const name = renderUsername(VAULT_DEFAULT_TEMPLATE, { ...iam, displayName: "d".repeat(30), roleName: "p".repeat(30) });
    expect(name).toHaveLength(64);
    expect(name).toMatch(new RegExp(`^vault-${"d".repeat(30)}-${"p".repeat(11)}-${NOW_UNIX}-[A-Za-z0-9]{4}$`));
  });
});

describe("renderUsername fields and functions", () => {
  const render = (template: string, ctx: Partial<UsernameContext> = {}) => renderUsername(template, { ...iam, ...ctx });

  it("exposes .Type, .DisplayName, .PolicyName, .RoleName and .Mount", () => {
    expect(render("{{ .Type }}-{{ .DisplayName }}-{{ .PolicyName }}-{{ .RoleName }}-{{ .Mount }}", { displayName: "ci bot" })).toBe(
      "IAM-ci_bot-deploy-deploy-aws",
    );
    expect(renderUsername("{{ .Type }}x", sts)).toBe("STSx");
  });

  it("defaults .DisplayName to the mount", () => {
    expect(render("{{ .DisplayName }}", { mount: "prod_aws" })).toBe("prod_aws");
  });

  it("normalises role names like Vault", () => {
    expect(normaliseName("a b/c:d+e=f,g.h@i_j-k")).toBe("a_b_c_d+e=f,g.h@i_j-k");
  });

  it("passes a piped value as the LAST argument", () => {
    expect(render('{{ "abc" | printf "%s-%s" "x" }}')).toBe("x-abc");
    expect(render('{{ .Mount | replace "a" "b" }}', { mount: "aaws" })).toBe("bbws");
  });

  it("supports parenthesised sub-pipelines and bare functions as arguments", () => {
    expect(render('{{ printf "%s-%s" (.Mount | uppercase) unix_time }}')).toBe(`AWS-${NOW_UNIX}`);
  });

  it("supports unix_time_millis, lowercase, uppercase and printf %d", () => {
    expect(render("{{ unix_time_millis }}")).toBe(String(NOW.getTime()));
    expect(render('{{ "MiXeD" | lowercase }}{{ "up" | uppercase }}')).toBe("mixedUP");
    expect(render('{{ printf "n%d" 42 }}')).toBe("n42");
  });

  it("supports timestamp with Go layouts in UTC", () => {
    expect(render('{{ timestamp "20060102150405" }}')).toBe("20240203040506");
    expect(render('{{ timestamp "2006-01-02_15.04.05.000" }}')).toBe("2024-02-03_04.05.06.789");
    expect(render('{{ timestamp "Jan2" }}')).toBe("Feb3");
  });

  it("supports uuid", () => {
    expect(render("{{ uuid }}")).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[0-9a-f]{4}-[0-9a-f]{12}$/);
  });

  it("supports random N with alphanumeric characters", () => {
    expect(render("{{ random 50 }}")).toMatch(/^[A-Za-z0-9]{50}$/);
  });

  it("supports truncate and truncate_sha256 like Vault", () => {
    const role = "abcdefghijklmnopqrstuvwxyz0123"; // 30 characters
    expect(render("{{ .PolicyName | truncate 5 }}", { roleName: role })).toBe("abcde");
    const hash = createHash("sha256").update(role.slice(12)).digest("hex").slice(0, 8);
    expect(render("{{ .PolicyName | truncate_sha256 20 }}", { roleName: role })).toBe(role.slice(0, 12) + hash);
    expect(render("{{ .PolicyName | truncate_sha256 40 }}", { roleName: role })).toBe(role);
  });

  it("supports sha256 and base64 (Vault's other template functions)", () => {
    expect(render('{{ "x" | sha256 | truncate 10 }}')).toBe(createHash("sha256").update("x").digest("hex").slice(0, 10));
    expect(render('{{ "abc" | base64 }}')).toBe("YWJj");
  });

  it("supports if / else if / else / end and eq with several values", () => {
    const template = '{{ if eq .Mount "a" "b" }}ab{{ else if (eq .Mount "c") }}c{{ else }}other{{ end }}';
    expect(render(template, { mount: "b" })).toBe("ab");
    expect(render(template, { mount: "c" })).toBe("c");
    expect(render(template, { mount: "d" })).toBe("other");
    expect(render("{{ if .Mount }}set{{ end }}x")).toBe("setx");
  });

  it("supports nested ifs", () => {
    const template = '{{ if eq .Type "IAM" }}i{{ if eq .Mount "aws" }}a{{ else }}b{{ end }}{{ else }}st{{ end }}';
    expect(render(template)).toBe("ia");
    expect(render(template, { mount: "x" })).toBe("ib");
    expect(renderUsername(template, sts)).toBe("st");
  });

  it("accepts whitespace trim markers", () => {
    expect(render('x  {{- "a" -}}  y')).toBe("xay");
    expect(render("a \n{{- .Mount }}-b")).toBe("aaws-b");
    expect(render("{{ .Mount -}}\n -b")).toBe("aws-b");
  });

  it("accepts raw strings and escaped quotes", () => {
    expect(render('{{ `a-b` | replace "-" "\\"" | replace "\\"" "_" }}')).toBe("a_b");
  });
});

describe("renderUsername limits (an error, never a silent cut)", () => {
  it("accepts exactly 64 characters for IAM and 32 for STS", () => {
    expect(renderUsername("{{ random 64 }}", iam)).toHaveLength(64);
    expect(renderUsername("{{ random 32 }}", sts)).toHaveLength(32);
  });

  it("rejects 65 characters for IAM, naming the length and the limit", () => {
    const error = failureOf(() => renderUsername("{{ random 65 }}", iam));
    expect(error.failures[0].field).toBe("usernameTemplate");
    expect(error.message).toMatch(/is 65 characters long; the limit for IAM user and session names is 64$/);
  });

  it("rejects 33 characters for STS", () => {
    const error = failureOf(() => renderUsername("{{ random 33 }}", sts));
    expect(error.message).toMatch(/is 33 characters long; the limit for federation token names is 32$/);
  });

  it("rejects characters IAM does not allow", () => {
    const error = failureOf(() => renderUsername("{{ .Mount }}:x", iam));
    expect(error.failures[0].field).toBe("usernameTemplate");
    expect(error.message).toContain("has characters AWS does not allow");
  });

  it("rejects an empty name", () => {
    expect(failureOf(() => renderUsername('{{ if eq .Type "STS" }}x{{ end }}', iam)).message).toBe("usernameTemplate: rendered an empty name");
  });

  it("rejects a one-character STS name (AWS minimum is 2)", () => {
    expect(failureOf(() => renderUsername("x", sts)).failures[0].field).toBe("usernameTemplate");
  });
});

describe("parseUsernameTemplate errors", () => {
  it.each([
    ["{{ nope }}", 'unknown function "nope"'],
    ["{{ .Nope }}", "unknown field .Nope"],
    ["{{ if .Mount }}x", "{{if}} without {{end}}"],
    ["x{{ end }}", "unexpected {{end}}"],
    ["{{ else }}", "unexpected {{else}} outside {{if}}"],
    ["{{ if .Mount }}a{{ else }}b{{ else }}c{{ end }}", "{{else}} after {{else}}"],
    ['{{ random "20" }}', "random argument 1 must be a number, got a string"],
    ["{{ truncate 0 .Mount }}", "truncate length must be > 0"],
    ["{{ truncate_sha256 8 .Mount }}", "truncate_sha256 length must be > 8"],
    ["{{ truncate 5 }}", "truncate takes 2 argument(s), got 1"],
    ['{{ uuid "x" }}', "uuid takes 0 argument(s), got 1"],
    ['{{ printf "%s-%s" .Mount }}', "has 2 verb(s) but 1 argument(s)"],
    ['{{ printf "%x" .Mount }}', "is not supported"],
    ["{{ .Mount 3 }}", "can't give argument to non-function"],
    ["{{ .Mount | .Type }}", "only a function can follow |"],
    ["{{ (.Mount }}", 'unclosed "("'],
    ["{{ .Mount) }}", 'unexpected ")"'],
    ["{{ }}", "empty action"],
    ["{{ .Mount", "unclosed action"],
    ['{{ "abc }}', "unterminated string"],
    ["{{/* comment */}}", "comments are not supported"],
    ["{{ 1.5 }}", "only whole-number literals"],
    ["{{ . }}", '"." must be followed by a field name'],
    ["{{ $x := 1 }}", 'unexpected "$"'],
    ["{{ range .Mount }}{{ end }}", 'unknown function "range"'],
  ])("rejects %j", (template, reason) => {
    const error = failureOf(() => parseUsernameTemplate(template));
    expect(error.failures).toHaveLength(1);
    expect(error.failures[0].field).toBe("usernameTemplate");
    expect(error.message).toContain(reason);
    expect(error.message).not.toContain("\n");
  });

  it("reports the character position of the problem", () => {
    expect(failureOf(() => parseUsernameTemplate("abc{{ nope }}")).message).toBe('usernameTemplate: template error at character 7: unknown function "nope"');
  });

  it("type-checks a piped value against the function's last parameter", () => {
    expect(failureOf(() => parseUsernameTemplate("{{ 5 | truncate 3 }}")).message).toContain("truncate argument 2 must be a string, got a number");
  });
});
