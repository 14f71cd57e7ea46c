// `awslease config write|read|rotate-root` and `role write|read|list|delete` through the
// real engine against moto, as a user runs them (child processes, own AWSLEASE_HOME).
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { AttachUserPolicyCommand, CreateAccessKeyCommand, CreateUserCommand, ListUsersCommand } from "@aws-sdk/client-iam";
import { GetCallerIdentityCommand } from "@aws-sdk/client-sts";
import { clients, moto, uniq, errorName } from "../support/aws";
import {
  allowPolicy,
  cliRunner,
  configureMount,
  countFiles,
  errorLines,
  expectOneLineError,
  filesContaining,
  ok,
  rootClients,
  taggedUsers,
  userExists,
  type Runner,
} from "../support/cli";

let runner: Runner;
let files: string;
/** Every secret this file handed to or got from the CLI: none may be stored in plaintext. */
const secrets: string[] = [];

beforeAll(() => {
  runner = cliRunner();
  files = mkdtempSync(join(tmpdir(), "awslease-cli-files-"));
});
afterAll(() => {
  runner?.cleanup();
  rmSync(files, { recursive: true, force: true });
});

async function roleNames(r: Runner = runner): Promise<string[]> {
  return JSON.parse(await ok(r.run(["role", "list", "--format", "json"])));
}

describe("config", () => {
  it("config write reads the secret from stdin, prints nothing on stdout and reports progress on stderr", async () => {
    const r = await configureMount(runner);
    expect(r.code).toBe(0);
    expect(r.stdout).toBe("");
    expect(r.stderr).toContain('mount "aws" configured for account 123456789012');
    expect(r.stderr).not.toContain(moto().secretKey);
  });

  it("config read (table and json) shows the access key, region and endpoints, never the secret", async () => {
    const m = moto();
    const table = await runner.run(["config", "read"]);
    expect(table.code).toBe(0);
    expect(table.stdout).toMatch(new RegExp(`^access_key\\s+${m.accessKey}$`, "m"));
    expect(table.stdout).toMatch(/^region\s+us-east-1$/m);
    expect(table.stdout).toMatch(new RegExp(`^iam_endpoint\\s+${m.endpoint}$`, "m"));
    expect(`${table.stdout}${table.stderr}`).not.toContain(m.secretKey);

    const json = await runner.run(["config", "read", "--format", "json"]);
    expect(json.code).toBe(0);
    expect(`${json.stdout}${json.stderr}`).not.toContain(m.secretKey);
    const cfg = JSON.parse(json.stdout);
    expect(cfg).toMatchObject({
      mount: "aws",
      access_key: m.accessKey,
      region: "us-east-1",
      iam_endpoint: m.endpoint,
      sts_endpoint: m.endpoint,
      account_id: m.accountId,
      caller_arn: `arn:aws:iam::${m.accountId}:user/root`,
      lease: "768h0m0s",
      lease_max: "768h0m0s",
    });
    expect(Object.keys(cfg).filter((k) => /secret/i.test(k))).toEqual([]);
  });

  it("config write with only some flags keeps the other fields (Vault's update semantics)", async () => {
    const r = await runner.run(["config", "write", "--lease", "1h", "--lease-max", "2h"]);
    expect(r.code).toBe(0);
    const cfg = JSON.parse(await ok(runner.run(["config", "read", "--format", "json"])));
    expect(cfg).toMatchObject({ access_key: moto().accessKey, region: "us-east-1", iam_endpoint: moto().endpoint, lease: "1h0m0s", lease_max: "2h0m0s" });
  });

  it("config write with an invalid value: exit 1, one line naming the field, config unchanged", async () => {
    const r = await runner.run(["config", "write", "--lease", "3h", "--lease-max", "1h"]);
    expect(r.code).toBe(1);
    const lines = errorLines(r.stderr);
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(/lease/i);
    const cfg = JSON.parse(await ok(runner.run(["config", "read", "--format", "json"])));
    expect(cfg).toMatchObject({ lease: "1h0m0s", lease_max: "2h0m0s" });
  });
});

describe("roles", () => {
  const roleArn = `arn:aws:iam::123456789012:role/ci-deployer`;

  it("role write with flags; role read --format json shows every field", async () => {
    const r = await runner.run([
      "role",
      "write",
      "flagged",
      "--credential-type",
      "iam_user",
      "--policy-document",
      allowPolicy(["iam:ListUsers"]),
      "--policy-arns",
      "arn:aws:iam::aws:policy/ReadOnlyAccess",
      "--iam-tags",
      "team=infra,env=ci",
      "--user-path",
      "/ci/",
    ]);
    expect(r.code).toBe(0);
    expect(r.stdout).toBe("");
    expect(r.stderr).toContain('role "flagged" written');
    const role = JSON.parse(await ok(runner.run(["role", "read", "flagged", "--format", "json"])));
    expect(role).toEqual({
      credential_type: "iam_user",
      policy_document: allowPolicy(["iam:ListUsers"]),
      policy_arns: ["arn:aws:iam::aws:policy/ReadOnlyAccess"],
      role_arns: [],
      iam_groups: [],
      iam_tags: { team: "infra", env: "ci" },
      default_sts_ttl: null,
      max_sts_ttl: null,
      user_path: "/ci/",
      permissions_boundary_arn: null,
      mfa_serial_number: null,
      session_tags: {},
      external_id: null,
    });
  });

  it("role write -f takes Vault's snake_case role JSON", async () => {
    const path = join(files, "role.json");
    writeFileSync(
      path,
      JSON.stringify({
        credential_type: "assumed_role",
        role_arns: [roleArn],
        default_sts_ttl: "15m",
        max_sts_ttl: 7200,
        session_tags: { team: "infra" },
        external_id: "ext-123",
      }),
    );
    await ok(runner.run(["role", "write", "fromjson", "-f", path]));
    const role = JSON.parse(await ok(runner.run(["role", "read", "fromjson", "--format", "json"])));
    expect(role).toMatchObject({
      credential_type: "assumed_role",
      role_arns: [roleArn],
      default_sts_ttl: "15m0s",
      max_sts_ttl: "2h0m0s",
      session_tags: { team: "infra" },
      external_id: "ext-123",
      user_path: null,
    });
  });

  it("role write --policy-document @file reads the document from the file", async () => {
    const path = join(files, "policy.json");
    const doc = { Version: "2012-10-17", Statement: [{ Effect: "Allow", Action: "iam:GetUser", Resource: "*" }] };
    writeFileSync(path, JSON.stringify(doc, null, 2));
    await ok(runner.run(["role", "write", "fromfile", "--credential-type", "iam_user", "--policy-document", `@${path}`]));
    const role = JSON.parse(await ok(runner.run(["role", "read", "fromfile", "--format", "json"])));
    expect(JSON.parse(role.policy_document)).toEqual(doc);
  });

  it("role list (json and table)", async () => {
    expect(await roleNames()).toEqual(["flagged", "fromfile", "fromjson"]);
    const table = await ok(runner.run(["role", "list"]));
    expect(table.split("\n").filter(Boolean)).toEqual(["Keys", "----", "flagged", "fromfile", "fromjson"]);
  });

  it("role read (table) of a role shows its fields", async () => {
    const table = await ok(runner.run(["role", "read", "fromjson"]));
    expect(table).toMatch(/^credential_type\s+assumed_role$/m);
    expect(table).toMatch(new RegExp(`^role_arns\\s+${roleArn}$`, "m"));
  });

  const invalid: Array<[string, string[], RegExp]> = [
    [
      "--role-arns on an iam_user role",
      ["role", "write", "bad1", "--credential-type", "iam_user", "--policy-document", allowPolicy(["iam:GetUser"]), "--role-arns", roleArn],
      /^awslease: error: --role-arns: /,
    ],
    [
      "default STS ttl above the max",
      ["role", "write", "bad2", "--credential-type", "assumed_role", "--role-arns", roleArn, "--default-sts-ttl", "2h", "--max-sts-ttl", "1h"],
      /^awslease: error: --default-sts-ttl: /,
    ],
    [
      "a ttl that is not a duration",
      ["role", "write", "bad3", "--credential-type", "assumed_role", "--role-arns", roleArn, "--max-sts-ttl", "1x"],
      /^awslease: error: --max-sts-ttl: /,
    ],
    ["an assumed_role role without role ARNs", ["role", "write", "bad4", "--credential-type", "assumed_role"], /^awslease: error: --role-arns: /],
    [
      "a policy document that is not JSON",
      ["role", "write", "bad5", "--credential-type", "iam_user", "--policy-document", "{not json"],
      /^awslease: error: --policy-document: /,
    ],
    ["an update that breaks an existing role", ["role", "write", "flagged", "--max-sts-ttl", "1h"], /^awslease: error: --max-sts-ttl: /],
  ];
  // Errors name the flag the user typed (--role-arns), not the program field (roleArns).
  it.each(invalid)("invalid role input (%s): exit 1, one line naming the flag, nothing written", async (_name, args, field) => {
    const r = await runner.run(args);
    expectOneLineError(r, 1, field);
    expect(await roleNames()).toEqual(["flagged", "fromfile", "fromjson"]);
  });

  it("role write -f with an unknown field: exit 1 naming the field", async () => {
    const path = join(files, "bad-role.json");
    writeFileSync(path, JSON.stringify({ credential_type: "iam_user", policy_document: allowPolicy(["iam:GetUser"]), ttl_forever: true }));
    const r = await runner.run(["role", "write", "bad6", "-f", path]);
    expect(r.code).toBe(1);
    expect(errorLines(r.stderr)).toEqual([expect.stringMatching(/ttl_forever/)]);
  });

  it("the role that failed to update is unchanged", async () => {
    const role = JSON.parse(await ok(runner.run(["role", "read", "flagged", "--format", "json"])));
    expect(role.max_sts_ttl).toBeNull();
    expect(role.user_path).toBe("/ci/");
  });

  it("role delete removes it; reading or deleting it again is exit 1", async () => {
    const r = await runner.run(["role", "delete", "fromfile"]);
    expect(r.code).toBe(0);
    expect(await roleNames()).toEqual(["flagged", "fromjson"]);
    const read = await runner.run(["role", "read", "fromfile"]);
    expect(read.code).toBe(1);
    expect(errorLines(read.stderr)).toEqual([expect.stringMatching(/no such role "fromfile"/)]);
    const again = await runner.run(["role", "delete", "fromfile"]);
    expect(again.code).toBe(1);
    expect(again.stderr).toMatch(/no such role "fromfile"/);
  });
});

describe("config rotate-root", () => {
  // A dedicated admin user as the mount's root: rotate-root deletes its old key.
  const mount = uniq("rot");
  const adminName = uniq("rotroot");
  let oldKey: { accessKey: string; secretKey: string };
  let beforeLease: string;
  let beforeUser: string;

  beforeAll(async () => {
    const { iam } = rootClients();
    await iam.send(new CreateUserCommand({ UserName: adminName }));
    await iam.send(new AttachUserPolicyCommand({ UserName: adminName, PolicyArn: "arn:aws:iam::aws:policy/AdministratorAccess" }));
    const key = await iam.send(new CreateAccessKeyCommand({ UserName: adminName }));
    oldKey = { accessKey: key.AccessKey!.AccessKeyId!, secretKey: key.AccessKey!.SecretAccessKey! };
    secrets.push(oldKey.secretKey);
  });

  it("a lease issued before the rotation", async () => {
    await ok(configureMount(runner, { ...oldKey, args: ["--mount", mount] }));
    await ok(runner.run(["role", "write", "dev", "--mount", mount, "--credential-type", "iam_user", "--policy-document", allowPolicy(["iam:ListUsers"])]));
    const issued = JSON.parse(await ok(runner.run(["issue", "dev", "--mount", mount, "--format", "json", "--no-wait"])));
    beforeLease = issued.lease_id;
    expect(beforeLease).toMatch(new RegExp(`^${mount}/creds/dev/`));
    beforeUser = issued.data.arn.split("/").pop();
    secrets.push(issued.data.secret_key);
    expect(await taggedUsers({ leaseId: beforeLease })).toEqual([beforeUser]);
  });

  it("rotate-root prints the new access key id; the old key is rejected, config read shows the new one", async () => {
    const r = await runner.run(["config", "rotate-root", "--mount", mount]);
    expect(r.code).toBe(0);
    const m = /^access_key\s+(\S+)$/m.exec(r.stdout);
    expect(m).not.toBeNull();
    const newAccessKey = m![1];
    expect(newAccessKey).not.toBe(oldKey.accessKey);
    expect(`${r.stdout}${r.stderr}`).not.toContain(oldKey.secretKey);

    const old = clients(oldKey.accessKey, oldKey.secretKey);
    expect(await errorName(old.sts.send(new GetCallerIdentityCommand({})))).toBe("InvalidClientTokenId");
    expect(await errorName(old.iam.send(new ListUsersCommand({})))).toBe("InvalidClientTokenId");

    const cfg = JSON.parse(await ok(runner.run(["config", "read", "--mount", mount, "--format", "json"])));
    expect(cfg.access_key).toBe(newAccessKey);
    expect(cfg.caller_arn).toBe(`arn:aws:iam::123456789012:user/${adminName}`);
    expect(Date.parse(cfg.root_rotated_at)).not.toBeNaN();
  });

  it("issuing still works after the rotation (with the new key only awslease knows)", async () => {
    const issued = JSON.parse(await ok(runner.run(["issue", "dev", "--mount", mount, "--format", "json"])));
    secrets.push(issued.data.secret_key);
    const key = clients(issued.data.access_key, issued.data.secret_key);
    const me = await key.sts.send(new GetCallerIdentityCommand({}));
    expect(me.Arn).toBe(issued.data.arn);
    const username = issued.data.arn.split("/").pop();
    await expect(key.iam.send(new ListUsersCommand({}))).resolves.toHaveProperty("Users");
    await ok(runner.run(["lease", "revoke", issued.lease_id, "--mount", mount]));
    expect(await userExists(username)).toBe(false);
  });

  it("the lease issued before the rotation can still be revoked", async () => {
    const r = await runner.run(["lease", "revoke", beforeLease, "--mount", mount]);
    expect(r.stderr).toContain(`revoked ${beforeLease}`);
    expect(r.code).toBe(0);
    expect(await userExists(beforeUser)).toBe(false);
    expect(JSON.parse(await ok(runner.run(["lease", "list", "--mount", mount, "--format", "json"])))).toEqual([]);
  });
});

describe("no secret in plaintext under AWSLEASE_HOME", () => {
  it("neither root secret (moto's, the rotated-away one) nor any issued secret key appears in any file", () => {
    expect(countFiles(runner.home)).toBeGreaterThan(3);
    expect(secrets).toHaveLength(3);
    expect(filesContaining(runner.home, [moto().secretKey, ...secrets])).toEqual([]);
  });
});
