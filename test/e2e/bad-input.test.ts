// Bad input, table-driven, through the real CLI: every case exits 1 (validation) or 2
// (AWS/engine) with exactly one line on stderr that names the problem, no stack trace,
// nothing on stdout - and afterwards nothing was issued, and the lease that was there
// before is still listed and working.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { GetCallerIdentityCommand } from "@aws-sdk/client-sts";
import { clients, createAssumableRole, uniq } from "../support/aws";
import { allowPolicy, cliRunner, configureMount, errorLines, leaseStackFiles, ok, taggedUsers, type Runner } from "../support/cli";

const mount = uniq("bad");
let runner: Runner;
let existing: { lease_id: string; data: { access_key: string; secret_key: string; arn: string } };
let stacksBefore: string[];
let usersBefore: string[];
let roleArn: string;

const POLICY = allowPolicy(["iam:ListUsers"]);
/** A valid policy document of exactly `size` characters. */
function policyOfSize(size: number): string {
  const base = { Version: "2012-10-17", Statement: [{ Effect: "Allow", Action: "s3:GetObject", Resource: "" }] };
  base.Statement[0].Resource = "x".repeat(size - JSON.stringify(base).length);
  return JSON.stringify(base);
}

interface Case {
  name: string;
  args: string[];
  stdin?: string;
  env?: Record<string, string | undefined>;
  code: 1 | 2;
  /** The one stderr line, after "awslease: error: ". */
  message: RegExp;
}

const id24 = "A".repeat(24);
const cases = (): Case[] => [
  // role names
  {
    name: "role name with a space",
    args: ["role", "write", "my role", "--credential-type", "session_token"],
    code: 1,
    message: /^name: "my role" must be 1-64 letters/,
  },
  {
    name: "role name with a slash",
    args: ["role", "write", "a/b", "--credential-type", "session_token"],
    code: 1,
    message: /^name: "a\/b" must be 1-64 letters/,
  },
  {
    name: "role name in unicode",
    args: ["role", "write", "rôle", "--credential-type", "session_token"],
    code: 1,
    message: /^name: "rôle" must be 1-64 letters/,
  },
  {
    name: "role name of 200 characters",
    args: ["role", "write", "r".repeat(200), "--credential-type", "session_token"],
    code: 1,
    message: /^name: "r{10,}.*must be 1-64 letters/,
  },
  { name: "role name ..", args: ["role", "write", "..", "--credential-type", "session_token"], code: 1, message: /^name: "\.\." must be .*not only dots/ },
  // policy documents
  {
    name: "policy document that is not JSON",
    args: ["role", "write", "r1", "--credential-type", "iam_user", "--policy-document", "{not json"],
    code: 1,
    message: /^--policy-document: is not valid JSON/,
  },
  {
    name: "policy document that is a JSON array",
    args: ["role", "write", "r1", "--credential-type", "iam_user", "--policy-document", "[1,2]"],
    code: 1,
    message: /^--policy-document: must be a JSON object/,
  },
  {
    name: "policy document that is a JSON string",
    args: ["role", "write", "r1", "--credential-type", "iam_user", "--policy-document", '"text"'],
    code: 1,
    message: /^--policy-document: must be a JSON object/,
  },
  {
    name: "iam_user policy over the user's 2,048-character inline quota",
    args: ["role", "write", "r1", "--credential-type", "iam_user", "--policy-document", policyOfSize(2000)],
    code: 1,
    message: /^--policy-document: is 2000 characters; an IAM user's inline policies may total 2048/,
  },
  {
    name: "STS session policy over 2,048 characters",
    args: ["role", "write", "r1", "--credential-type", "federation_token", "--policy-document", policyOfSize(2100)],
    code: 1,
    message: /^--policy-document: is 2100 characters; an STS session policy may have at most 2048/,
  },
  {
    name: "policy document from a missing file",
    args: ["role", "write", "r1", "--credential-type", "iam_user", "--policy-document", "@/nonexistent/p.json"],
    code: 1,
    message: /^--policy-document: cannot read policy document file \/nonexistent\/p.json: no such file$/,
  },
  {
    name: "policy document from a directory",
    args: ["role", "write", "r1", "--credential-type", "iam_user", "--policy-document", "@/tmp"],
    code: 1,
    message: /^--policy-document: cannot read policy document file \/tmp: is a directory$/,
  },
  {
    name: "role JSON from a missing file",
    args: ["role", "write", "r1", "-f", "/nonexistent/role.json"],
    code: 1,
    message: /^--file: cannot read role JSON file \/nonexistent\/role.json: no such file$/,
  },
  {
    name: "role JSON that is not JSON",
    args: ["role", "write", "r1", "-f", "-"],
    stdin: "credential_type = iam_user",
    code: 1,
    message: /^--file: role JSON in stdin is not JSON/,
  },
  // credential types and fields
  { name: "unknown credential type", args: ["role", "write", "r1", "--credential-type", "iam_usr"], code: 1, message: /credential-type.*iam_usr/ },
  {
    name: "no credential type",
    args: ["role", "write", "r1", "--policy-document", POLICY],
    code: 1,
    message: /^--credential-type: is required \(one of iam_user, assumed_role, federation_token, session_token\)$/,
  },
  {
    name: "role ARNs on an iam_user role",
    args: ["role", "write", "r1", "--credential-type", "iam_user", "--policy-document", POLICY, "--role-arns", "arn:aws:iam::123456789012:role/x"],
    code: 1,
    message: /^--role-arns: only valid for credentialType assumed_role/,
  },
  {
    name: "an MFA serial on an iam_user role",
    args: ["role", "write", "r1", "--credential-type", "iam_user", "--policy-document", POLICY, "--mfa-serial-number", "arn:aws:iam::123456789012:mfa/x"],
    code: 1,
    message: /^--mfa-serial-number: only valid for credentialType session_token/,
  },
  {
    name: "a user path on an assumed_role role",
    args: ["role", "write", "r1", "--credential-type", "assumed_role", "--role-arns", "arn:aws:iam::123456789012:role/x", "--user-path", "/x/"],
    code: 1,
    message: /^--user-path: only valid for credentialType iam_user/,
  },
  {
    name: "assumed_role without role ARNs",
    args: ["role", "write", "r1", "--credential-type", "assumed_role"],
    code: 1,
    message: /^--role-arns: assumed_role needs at least one role ARN/,
  },
  {
    name: "a policy ARN that is not one",
    args: ["role", "write", "r1", "--credential-type", "iam_user", "--policy-arns", "arn:aws:s3:::bucket"],
    code: 1,
    message: /^--policy-arns: "arn:aws:s3:::bucket" is not an IAM policy ARN/,
  },
  {
    name: "a role ARN that is not one",
    args: ["role", "write", "r1", "--credential-type", "assumed_role", "--role-arns", "my-role"],
    code: 1,
    message: /^--role-arns: "my-role" is not an IAM role ARN/,
  },
  {
    name: "default STS TTL banana",
    args: ["role", "write", "r1", "--credential-type", "session_token", "--default-sts-ttl", "banana"],
    code: 1,
    message: /^--default-sts-ttl: invalid duration "banana"/,
  },
  {
    name: "max STS TTL -5m",
    args: ["role", "write", "r1", "--credential-type", "session_token", "--max-sts-ttl", "-5m"],
    code: 1,
    message: /^--max-sts-ttl: must not be negative, got "-5m"/,
  },
  // issue
  { name: "unknown role", args: ["issue", "nosuch"], code: 1, message: /^role: no such role "nosuch" in mount/ },
  { name: "--ttl 0", args: ["issue", "r", "--ttl", "0"], code: 1, message: /^ttl: must be greater than 0/ },
  { name: "--ttl -5m", args: ["issue", "r", "--ttl", "-5m"], code: 1, message: /^ttl: must not be negative, got "-5m"/ },
  { name: "--ttl 1y", args: ["issue", "r", "--ttl", "1y"], code: 1, message: /^ttl: invalid duration "1y"/ },
  { name: "--ttl banana", args: ["issue", "r", "--ttl", "banana"], code: 1, message: /^ttl: invalid duration "banana"/ },
  {
    name: "--ttl above any maximum (too large to be a duration)",
    args: ["issue", "r", "--ttl", "99999999999999999999h"],
    code: 1,
    message: /^ttl: duration "99999999999999999999h" is too large/,
  },
  {
    name: "--role-arn on an iam_user role",
    args: ["issue", "r", "--role-arn", "arn:aws:iam::123456789012:role/x"],
    code: 1,
    message: /^--role-arn: only valid for assumed_role/,
  },
  {
    name: "--role-arn not among the role's ARNs",
    args: ["issue", "ar", "--role-arn", "arn:aws:iam::123456789012:role/other"],
    code: 1,
    message: /^--role-arn: "arn:aws:iam::123456789012:role\/other" is not one of the role ARNs of role "ar"$/,
  },
  {
    name: "--role-session-name with a space",
    args: ["issue", "ar", "--role-session-name", "my session"],
    code: 1,
    message: /^--role-session-name: "my session" must be 2-64/,
  },
  { name: "--mfa-code that is not 6 digits", args: ["issue", "r", "--mfa-code", "12ab"], code: 1, message: /^--mfa-code: must be 6 digits/ },
  { name: "--format that does not exist", args: ["issue", "r", "--format", "xml"], code: 1, message: /format.*xml/ },
  // leases
  { name: "lookup of an unknown lease id", args: ["lease", "lookup", `${mount}/creds/r/${id24}`], code: 1, message: /^lease_id: no such lease/ },
  { name: "revoke of an unknown lease id", args: ["lease", "revoke", `${mount}/creds/r/${id24}`], code: 1, message: /^lease_id: no such lease/ },
  { name: "lookup of a malformed lease id", args: ["lease", "lookup", "not-a-lease"], code: 1, message: /^lease_id: malformed lease id "not-a-lease"/ },
  {
    name: "revoke of a lease id with a path in it",
    args: ["lease", "revoke", `${mount}/creds/../${id24}`],
    code: 1,
    message: /^lease_id: (malformed lease id|no such lease)/,
  },
  {
    name: "renew --increment banana",
    args: ["lease", "renew", `${mount}/creds/r/${id24}`, "--increment", "banana"],
    code: 1,
    message: /^increment: invalid duration "banana"/,
  },
  {
    name: "renew --increment -1h",
    args: ["lease", "renew", `${mount}/creds/r/${id24}`, "--increment", "-1h"],
    code: 1,
    message: /^increment: must not be negative, got "-1h"/,
  },
  { name: "revoke without a lease id or --prefix", args: ["lease", "revoke"], code: 1, message: /^lease-id: give either a lease id or --prefix/ },
  {
    name: "revoke --prefix --parallel 0",
    args: ["lease", "revoke", "--prefix", `${mount}/`, "--parallel", "0"],
    code: 1,
    message: /^--parallel: must be a whole number from 1 to 64, got 0$/,
  },
  { name: "sweep --parallel abc", args: ["sweep", "--parallel", "abc"], code: 1, message: /^--parallel: must be a whole number from 1 to 64, got NaN$/ },
  { name: "sweep --min-age banana", args: ["sweep", "--min-age", "banana"], code: 1, message: /^--min-age: invalid duration "banana"/ },
  // config
  { name: "config write --lease 0", args: ["config", "write", "--lease", "0"], code: 1, message: /^lease: must be greater than 0/ },
  {
    name: "config write --lease above --lease-max",
    args: ["config", "write", "--lease", "2h", "--lease-max", "1h"],
    code: 1,
    message: /^lease: 2h0m0s is more than leaseMax 1h0m0s/,
  },
  { name: "config write --region with spaces", args: ["config", "write", "--region", "eu west 1"], code: 1, message: /^region: / },
  {
    name: "config write --username-template that does not parse",
    args: ["config", "write", "--username-template", "{{ .Bad"],
    code: 1,
    message: /^--username-template: /,
  },
  // global
  { name: "--mount with a slash", args: ["lease", "list", "--mount", "a/b"], code: 1, message: /^--mount: "a\/b" is not a mount name/ },
  { name: "--mount that does not exist", args: ["lease", "list", "--mount", "nosuch"], code: 1, message: /^--mount: no such mount "nosuch"/ },
  {
    name: "no passphrase",
    args: ["lease", "list"],
    env: { PULUMI_CONFIG_PASSPHRASE: undefined },
    code: 1,
    message: /^secrets: set PULUMI_CONFIG_PASSPHRASE or PULUMI_CONFIG_PASSPHRASE_FILE/,
  },
  { name: "an unknown command", args: ["frobnicate"], code: 1, message: /frobnicate/ },
  { name: "exec without a command", args: ["exec", "r"], code: 1, message: /^command: give the command after --/ },
];

beforeAll(async () => {
  runner = cliRunner({ mount });
  await ok(configureMount(runner));
  roleArn = await createAssumableRole(["iam:ListUsers"]);
  await ok(runner.run(["role", "write", "r", "--credential-type", "iam_user", "--policy-document", POLICY]));
  await ok(runner.run(["role", "write", "ar", "--credential-type", "assumed_role", "--role-arns", roleArn]));
  existing = JSON.parse(await ok(runner.run(["issue", "r", "--format", "json", "--quiet", "--no-wait"])));
  stacksBefore = leaseStackFiles(runner, mount);
  usersBefore = await taggedUsers({ mount });
});

afterAll(async () => {
  await runner?.run(["lease", "revoke", "--prefix", `${mount}/`, "--quiet"]).catch(() => undefined);
  runner?.cleanup();
});

describe("bad input: exit 1 or 2, exactly one line naming the problem, no stack trace, nothing issued", () => {
  it("has at least 40 cases", () => {
    expect(cases().length).toBeGreaterThanOrEqual(40);
  });

  for (const c of cases()) {
    it(c.name, async () => {
      const r = await runner.run([...c.args, "--quiet"], { stdin: c.stdin, env: c.env });
      expect(r.code).toBe(c.code);
      expect(r.stdout).toBe("");
      const lines = errorLines(r.stderr);
      expect(lines).toHaveLength(1);
      expect(lines[0]).toMatch(/^awslease: error: /);
      expect(lines[0].slice("awslease: error: ".length)).toMatch(c.message);
      expect(r.stderr).not.toMatch(/\n\s+at /);
    });
  }

  it("afterwards: no new lease, no new IAM user; the lease from before is listed and its key works", async () => {
    console.log(`bad input: ${cases().length} cases tried; IAM users left by them: ${(await taggedUsers({ mount })).length - usersBefore.length}`);
    expect(leaseStackFiles(runner, mount)).toEqual(stacksBefore);
    expect(await taggedUsers({ mount })).toEqual(usersBefore);
    const listed = JSON.parse(await ok(runner.run(["lease", "list", "--format", "json"]))) as { lease_id: string }[];
    expect(listed.map((l) => l.lease_id)).toEqual([existing.lease_id]);
    const me = await clients(existing.data.access_key, existing.data.secret_key).sts.send(new GetCallerIdentityCommand({}));
    expect(me.Arn).toBe(existing.data.arn);
  });
});
