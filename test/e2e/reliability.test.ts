// The lease table under damage and misuse, through the real CLI and engine against
// moto: corrupted or foreign state, mounts whose names share a prefix, two lease
// tables on one account, failed first config writes, roles before the root config,
// engine failures that must stay one line, and changes made to a lease's IAM user
// behind awslease's back. Each defect of the reliability issue that is not a fault
// between awslease and AWS (see faults.test.ts) has its test here.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import {
  AddUserToGroupCommand,
  AttachUserPolicyCommand,
  CreateAccessKeyCommand,
  CreateGroupCommand,
  CreateLoginProfileCommand,
  CreatePolicyCommand,
  CreateUserCommand,
  CreateVirtualMFADeviceCommand,
  EnableMFADeviceCommand,
  PutUserPolicyCommand,
} from "@aws-sdk/client-iam";
import { createAssumableRole, moto, uniq } from "../support/aws";
import {
  allowPolicy,
  cliRunner,
  configureMount,
  configWriteArgs,
  errorLines,
  leaseStackFiles,
  ok,
  PASSPHRASE,
  rootClients,
  taggedUsers,
  userExists,
  type Runner,
} from "../support/cli";
import { clientsFor } from "../support/clients";

interface Issued {
  lease_id: string;
  expires_at: string;
  data: { access_key: string; secret_key: string; arn: string | null };
  warnings: string[];
}

const runners: Runner[] = [];
function runnerFor(mount: string, opts: { backend?: string } = {}): Runner {
  const r = cliRunner({ mount, ...opts });
  runners.push(r);
  return r;
}

async function issue(runner: Runner, role: string, extra: string[] = []): Promise<Issued> {
  return JSON.parse(await ok(runner.run(["issue", role, "--format", "json", "--quiet", "--no-wait", ...extra])));
}

async function listed(runner: Runner, extra: string[] = []): Promise<string[]> {
  return (JSON.parse(await ok(runner.run(["lease", "list", "--format", "json", ...extra]))) as { lease_id: string }[]).map((l) => l.lease_id).sort();
}

const usernameOf = (l: Issued) => l.data.arn!.split("/").pop()!;
const POLICY = allowPolicy(["iam:ListUsers"]);

afterAll(async () => {
  for (const r of runners) {
    await r.run(["lease", "revoke", "--prefix", `${r.env.AWSLEASE_MOUNT}/`, "--quiet"]).catch(() => undefined);
    r.cleanup();
  }
});

describe("corrupted state: one bad lease stack is reported by name; every other lease still lists and revokes", () => {
  const mount = uniq("cor");
  let runner: Runner;
  let good: Issued;
  let bad: Issued;
  let badFile: string;
  let saved: string;

  beforeAll(async () => {
    runner = runnerFor(mount);
    await ok(configureMount(runner));
    await ok(runner.run(["role", "write", "r", "--credential-type", "iam_user", "--policy-document", POLICY]));
    good = await issue(runner, "r");
    bad = await issue(runner, "r");
    badFile = join(runner.home, "state", ".pulumi", "stacks", "awslease", `lease-${mount}-${bad.lease_id.split("/").pop()}.json`);
    saved = readFileSync(badFile, "utf8");
    writeFileSync(badFile, "{\n"); // truncated by hand
  });

  it("lease list: the other lease is listed, exit 0, and one warning names the file", async () => {
    const r = await runner.run(["lease", "list", "--format", "json"]);
    expect(r.code).toBe(0);
    expect((JSON.parse(r.stdout) as { lease_id: string }[]).map((l) => l.lease_id)).toEqual([good.lease_id]);
    expect(errorLines(r.stderr)).toEqual([
      expect.stringContaining(`warning: lease stack lease-${mount}-${bad.lease_id.split("/").pop()} is unreadable and left out: ${badFile}:`),
    ]);
  });

  it("lease revoke of the bad lease: exit 2, one line naming the file; lookup the same", async () => {
    for (const args of [
      ["lease", "revoke", bad.lease_id],
      ["lease", "lookup", bad.lease_id],
    ]) {
      const r = await runner.run([...args, "--quiet"]);
      expect(r.code).toBe(2);
      expect(errorLines(r.stderr)).toEqual([expect.stringContaining(`cannot be read (${badFile}:`)]);
    }
  });

  it("sweep: exit 2 naming the bad stack, and the rest of the sweep still runs", async () => {
    const r = await runner.run(["sweep", "--format", "json", "--quiet"]);
    expect(r.code).toBe(2);
    expect(JSON.parse(r.stdout).failures).toEqual([expect.stringContaining(`lease-${mount}-${bad.lease_id.split("/").pop()}: unreadable, left alone`)]);
  });

  it("revoke --prefix revokes every readable lease, reports the bad one and exits 2; restored, it revokes", async () => {
    const r = await runner.run(["lease", "revoke", "--prefix", `${mount}/`]);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain(`revoked ${good.lease_id}`);
    expect(r.stderr).toContain("1 of 2 leases could not be revoked");
    expect(await userExists(usernameOf(good))).toBe(false);
    expect(await userExists(usernameOf(bad))).toBe(true);

    writeFileSync(badFile, saved);
    await ok(runner.run(["lease", "revoke", bad.lease_id, "--quiet"]));
    expect(await taggedUsers({ mount })).toEqual([]);
    expect(await listed(runner)).toEqual([]);
  });
});

describe("a wrong passphrase", () => {
  const mount = uniq("pw");
  let runner: Runner;
  let lease: Issued;

  beforeAll(async () => {
    runner = runnerFor(mount);
    await ok(configureMount(runner));
    await ok(runner.run(["role", "write", "r", "--credential-type", "iam_user", "--policy-document", POLICY]));
    lease = await issue(runner, "r");
  });

  it("issue, revoke, config read: exit 2, one line saying the passphrase is wrong; no stack left behind, nothing changed", async () => {
    const stacksBefore = leaseStackFiles(runner, mount);
    for (const args of [
      ["issue", "r"],
      ["lease", "revoke", lease.lease_id],
      ["config", "read"],
      ["role", "write", "r2", "--credential-type", "session_token"],
    ]) {
      const r = await runner.run([...args, "--quiet"], { env: { PULUMI_CONFIG_PASSPHRASE: "not-the-passphrase" } });
      expect(r.code, args.join(" ")).toBe(2);
      expect(errorLines(r.stderr)).toEqual([
        expect.stringMatching(/^awslease: error: cannot read mount "[^"]+" \(stack mount-[^)]+\): failed to decrypt: incorrect passphrase/),
      ]);
    }
    expect(leaseStackFiles(runner, mount)).toEqual(stacksBefore);
    expect(await listed(runner)).toEqual([lease.lease_id]);
    expect(await userExists(usernameOf(lease))).toBe(true);
  });

  it("with the right one, the lease revokes", async () => {
    await ok(runner.run(["lease", "revoke", lease.lease_id, "--quiet"], { env: { PULUMI_CONFIG_PASSPHRASE: PASSPHRASE } }));
    expect(await taggedUsers({ mount })).toEqual([]);
  });
});

describe("mounts whose names share a prefix (a, a-b) never see each other's leases", () => {
  const a = uniq("pre");
  const ab = `${a}-b`;
  let home: Runner;
  let leaseA: Issued;
  let leaseAB: Issued;

  beforeAll(async () => {
    home = runnerFor(a);
    for (const mount of [a, ab]) {
      await ok(configureMount(home, { args: ["--mount", mount] }));
      await ok(home.run(["role", "write", "r", "--mount", mount, "--credential-type", "iam_user", "--policy-document", POLICY]));
    }
    leaseA = await issue(home, "r", ["--mount", a]);
    leaseAB = await issue(home, "r", ["--mount", ab]);
  });

  it("lease list is exact per mount", async () => {
    expect(await listed(home, ["--mount", a])).toEqual([leaseA.lease_id]);
    expect(await listed(home, ["--mount", ab])).toEqual([leaseAB.lease_id]);
  });

  it("sweep and revoke --prefix of mount a leave mount a-b alone", async () => {
    await ok(home.run(["sweep", "--mount", a, "--min-age", "0s", "--quiet"]));
    await ok(home.run(["lease", "revoke", "--mount", a, "--prefix", `${a}/`, "--quiet"]));
    expect(await listed(home, ["--mount", a])).toEqual([]);
    expect(await listed(home, ["--mount", ab])).toEqual([leaseAB.lease_id]);
    expect(await userExists(usernameOf(leaseAB))).toBe(true);
    await ok(home.run(["lease", "revoke", leaseAB.lease_id, "--quiet"]));
  });

  it("an invalid mount name: exit 1, one line with the rule", async () => {
    const r = await home.run(["lease", "list", "--mount", "a/b"]);
    expect(r.code).toBe(1);
    expect(errorLines(r.stderr)).toEqual(['awslease: error: --mount: "a/b" is not a mount name (1-64 letters, digits, "_" and "-")']);
  });
});

describe("two lease tables (two AWSLEASE_HOMEs) with the same mount name on one account", () => {
  it("sweep in one never touches the other's users, even old or expired ones", async () => {
    const mount = uniq("two");
    const one = runnerFor(mount);
    const other = runnerFor(mount);
    for (const r of [one, other]) {
      await ok(configureMount(r));
      await ok(r.run(["role", "write", "r", "--credential-type", "iam_user", "--policy-document", POLICY]));
    }
    const theirs = await issue(other, "r", ["--ttl", "2s"]);
    await new Promise((r) => setTimeout(r, 2500)); // expired, and older than --min-age 0s
    const r = await one.run(["sweep", "--min-age", "0s", "--format", "json"]);
    expect(r.code).toBe(0);
    expect(JSON.parse(r.stdout)).toMatchObject({ expired_leases: [], abandoned_issues: [], orphaned_users: [] });
    expect(await userExists(usernameOf(theirs))).toBe(true);
    expect(await listed(other)).toEqual([theirs.lease_id]);
    // Its own table sweeps it.
    const own = JSON.parse(await ok(other.run(["sweep", "--format", "json"])));
    expect(own.expired_leases).toEqual([theirs.lease_id]);
    expect(await userExists(usernameOf(theirs))).toBe(false);
  });
});

describe("the mount's control stack", () => {
  it("a failed first config write leaves the mount as it was; the next write works", async () => {
    const runner = runnerFor(uniq("first"));
    const m = moto();
    const failed = await runner.run([...configWriteArgs(m.accessKey, "http://127.0.0.1:1"), "--quiet"], {
      stdin: `${m.secretKey}\n`,
      env: { AWSLEASE_AWS_TIMEOUT: "2s" },
    });
    expect(failed.code).toBe(2);
    expect(errorLines(failed.stderr)).toEqual([expect.stringMatching(/^awslease: error: config write failed: sts:GetCallerIdentity failed: .*ECONNREFUSED/)]);
    const read = await runner.run(["config", "read"]);
    expect(read.code).toBe(1);
    expect(read.stderr).toContain("is not configured");
    await ok(configureMount(runner));
    expect(JSON.parse(await ok(runner.run(["config", "read", "--format", "json"]))).account_id).toBe(m.accountId);
  });

  it("a mistyped root secret key: exit 2, one line; the next write with the right key works", async () => {
    const runner = runnerFor(uniq("typo"));
    const failed = await configureMount(runner, { secretKey: "not-the-secret", args: ["--quiet"] });
    expect(failed.code).toBe(2);
    expect(errorLines(failed.stderr)).toEqual([
      expect.stringMatching(/config write failed: sts:GetCallerIdentity failed: (SignatureDoesNotMatch|InvalidClientTokenId)/),
    ]);
    await ok(configureMount(runner));
  });

  it("a role can be written before the root config (as in Vault); issuing waits for the config", async () => {
    const runner = runnerFor(uniq("early"));
    await ok(runner.run(["role", "write", "r", "--credential-type", "iam_user", "--policy-document", POLICY]));
    expect(JSON.parse(await ok(runner.run(["role", "list", "--format", "json"])))).toEqual(["r"]);
    const early = await runner.run(["issue", "r", "--quiet"]);
    expect(early.code).toBe(1);
    expect(errorLines(early.stderr)).toEqual([expect.stringContaining("is not configured: run `awslease config write` first")]);
    await ok(configureMount(runner));
    const lease = await issue(runner, "r");
    expect(lease.lease_id).toMatch(/\/creds\/r\//);
    await ok(runner.run(["lease", "revoke", lease.lease_id, "--quiet"]));
  });

  it("rotate-root when the root user already has two keys: exit 2, one short line saying so; no engine output, no policy document in it", async () => {
    const { iam } = rootClients();
    const rootUser = uniq("root2");
    await iam.send(new CreateUserCommand({ UserName: rootUser }));
    await iam.send(new AttachUserPolicyCommand({ UserName: rootUser, PolicyArn: "arn:aws:iam::aws:policy/AdministratorAccess" }));
    const key = (await iam.send(new CreateAccessKeyCommand({ UserName: rootUser }))).AccessKey!;
    await iam.send(new CreateAccessKeyCommand({ UserName: rootUser }));
    const runner = runnerFor(uniq("rot"));
    await ok(configureMount(runner, { accessKey: key.AccessKeyId!, secretKey: key.SecretAccessKey! }));
    // Roles whose policy documents the raw engine output would have repeated.
    for (const name of ["one", "two", "three"]) {
      await ok(runner.run(["role", "write", name, "--credential-type", "iam_user", "--policy-document", allowPolicy([`s3:Get${name}Marker`])]));
    }
    const r = await runner.run(["config", "rotate-root", "--quiet"]);
    expect(r.code).toBe(2);
    const lines = errorLines(r.stderr);
    expect(lines).toHaveLength(1);
    expect(lines[0]).toBe(
      `awslease: error: config rotate-root failed: rotate-root: IAM user "${rootUser}" already has 2 access keys; delete one first (AWS allows 2 and the new key needs a free slot)`,
    );
    expect(lines[0].length).toBeLessThan(500);
    expect(r.stderr).not.toContain("Marker");
    expect(r.stderr).not.toContain(key.SecretAccessKey!);
  });
});

describe("a lease's IAM user changed behind awslease's back", () => {
  const mount = uniq("oob");
  let runner: Runner;

  beforeAll(async () => {
    runner = runnerFor(mount);
    await ok(configureMount(runner));
    await ok(runner.run(["role", "write", "r", "--credential-type", "iam_user", "--policy-document", POLICY]));
  });

  it("given a login profile, another key, inline and managed policies, a group and an MFA device: revoke still deletes it", async () => {
    const lease = await issue(runner, "r");
    const UserName = usernameOf(lease);
    const { iam } = rootClients();
    const group = uniq("oobgrp");
    await iam.send(new CreateGroupCommand({ GroupName: group }));
    const managed = await iam.send(new CreatePolicyCommand({ PolicyName: uniq("oobpol"), PolicyDocument: allowPolicy(["s3:ListAllMyBuckets"]) }));
    await iam.send(new CreateLoginProfileCommand({ UserName, Password: "Very-Secret-Passw0rd!" }));
    await iam.send(new CreateAccessKeyCommand({ UserName }));
    await iam.send(new PutUserPolicyCommand({ UserName, PolicyName: "oob-inline", PolicyDocument: allowPolicy(["s3:GetObject"]) }));
    await iam.send(new AttachUserPolicyCommand({ UserName, PolicyArn: managed.Policy!.Arn! }));
    await iam.send(new AddUserToGroupCommand({ UserName, GroupName: group }));
    const mfa = await iam.send(new CreateVirtualMFADeviceCommand({ VirtualMFADeviceName: uniq("oobmfa") }));
    await iam.send(
      new EnableMFADeviceCommand({ UserName, SerialNumber: mfa.VirtualMFADevice!.SerialNumber!, AuthenticationCode1: "123456", AuthenticationCode2: "654321" }),
    );
    await ok(runner.run(["lease", "revoke", lease.lease_id, "--quiet"]));
    expect(await userExists(UserName)).toBe(false);
    expect(await listed(runner)).toEqual([]);
  });

  it("deleted out of band: revoke succeeds and the lease is gone from the list", async () => {
    const lease = await issue(runner, "r");
    const m = moto();
    // An admin removes the user (and what IAM requires gone first) by hand.
    const { revokeIamUser } = await import("../../provider/aws/iamUser");
    const admin = {
      mount,
      region: m.region,
      iamEndpoint: m.endpoint,
      accessKey: m.accessKey,
      secretKey: m.secretKey,
      maxRetries: 0,
      leaseSeconds: 0,
      leaseMaxSeconds: 0,
    };
    await revokeIamUser(clientsFor(admin), usernameOf(lease));
    expect(await userExists(usernameOf(lease))).toBe(false);
    const r = await runner.run(["lease", "revoke", lease.lease_id]);
    expect(r.code).toBe(0);
    expect(r.stderr).toContain(`revoked ${lease.lease_id}`);
    expect(await listed(runner)).toEqual([]);
  });
});

describe("STS leases and small things", () => {
  const mount = uniq("sts");
  let runner: Runner;
  let roleArn: string;

  beforeAll(async () => {
    runner = runnerFor(mount);
    await ok(configureMount(runner));
    roleArn = await createAssumableRole(["iam:ListUsers"]);
  });

  it("revoking a session_token lease warns, on stderr and in --format json, that the credentials stay valid until their AWS expiry, and why; an assumed_role one does not", async () => {
    await ok(runner.run(["role", "write", "st0", "--credential-type", "session_token"]));
    const lease = await issue(runner, "st0", ["--ttl", "15m"]);
    const r = await runner.run(["lease", "revoke", lease.lease_id, "--format", "json", "--quiet"]);
    expect(r.code).toBe(0);
    const warning = `${lease.lease_id}: session_token credentials stay valid until their AWS expiry at ${lease.expires_at}: a session_token session cannot be told apart from its caller in AWS policies`;
    expect(JSON.parse(r.stdout)).toEqual({ lease_id: lease.lease_id, outcome: "revoked", warnings: [warning] });
    expect(errorLines(r.stderr)).toEqual([`awslease: warning: ${warning}`]);
    await ok(runner.run(["role", "write", "ar", "--credential-type", "assumed_role", "--role-arns", roleArn]));
    const denied = await issue(runner, "ar", ["--ttl", "15m"]);
    const quiet = await runner.run(["lease", "revoke", denied.lease_id, "--format", "json", "--quiet"]);
    expect(JSON.parse(quiet.stdout)).toEqual({ lease_id: denied.lease_id, outcome: "revoked", warnings: [] });
  });

  it("session_token issues on the emulator without --no-wait (STS types are usable at once; no wait)", async () => {
    await ok(runner.run(["role", "write", "st", "--credential-type", "session_token"]));
    const lease = JSON.parse(await ok(runner.run(["issue", "st", "--format", "json", "--quiet"])));
    expect(lease.lease_id).toMatch(new RegExp(`^${mount}/sts/st/`));
    expect(lease.data.session_token).toBeTruthy();
    await ok(runner.run(["lease", "revoke", lease.lease_id, "--quiet"]));
  });

  it("--policy-document @- reads the document from stdin; a missing @file is a one-line error, exit 1", async () => {
    await ok(runner.run(["role", "write", "fromstdin", "--credential-type", "iam_user", "--policy-document", "@-"], { stdin: POLICY }));
    const role = JSON.parse(await ok(runner.run(["role", "read", "fromstdin", "--format", "json"])));
    expect(JSON.parse(role.policy_document)).toEqual(JSON.parse(POLICY));
    const missing = await runner.run(["role", "write", "x", "--credential-type", "iam_user", "--policy-document", "@/nonexistent/policy.json"]);
    expect(missing.code).toBe(1);
    expect(errorLines(missing.stderr)).toEqual(["awslease: error: --policy-document: cannot read policy document file /nonexistent/policy.json: no such file"]);
  });

  it("awslease with no command: one line, exit 1", async () => {
    const r = await runner.run([]);
    expect(r.code).toBe(1);
    expect(errorLines(r.stderr)).toEqual(["awslease: error: name a command (see --help)"]);
  });

  it("--mount nosuch: exit 1 saying the mount does not exist", async () => {
    const r = await runner.run(["lease", "list", "--mount", "nosuch"]);
    expect(r.code).toBe(1);
    expect(errorLines(r.stderr)).toEqual([expect.stringMatching(/^awslease: error: --mount: no such mount "nosuch" in file:\/\//)]);
  });
});
