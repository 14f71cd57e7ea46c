// `awslease issue` in every output format, through the real engine against moto, and
// the credentials put to use with the AWS SDK (also as the SDK itself loads them:
// env, ~/.aws/credentials, credential_process). Plus stdout/stderr discipline, exit codes
// and "a failed issue leaves nothing behind".
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { execFile } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { CreateUserCommand, ListUsersCommand } from "@aws-sdk/client-iam";
import { GetCallerIdentityCommand } from "@aws-sdk/client-sts";
import { clients, createAssumableRole, moto, uniq, errorName } from "../support/aws";
import {
  allowPolicy,
  cliEntry,
  cliRunner,
  configureMount,
  countFiles,
  errorLines,
  expectOneLineError,
  filesContaining,
  leaseStackFiles,
  ok,
  repoRoot,
  taggedUsers,
  userExists,
  type Runner,
} from "../support/cli";

const run = promisify(execFile);

let runner: Runner;
let files: string;
let stsRoleArn: string;
/** Every secret the CLI handed out in this file: none may be stored in plaintext. */
const secrets: string[] = [];
const leaseIds: string[] = [];

const ISO_Z = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z$/;

beforeAll(async () => {
  runner = cliRunner();
  files = mkdtempSync(join(tmpdir(), "awslease-cli-issue-"));
  await ok(configureMount(runner));
  await ok(runner.run(["role", "write", "dev", "--credential-type", "iam_user", "--policy-document", allowPolicy(["iam:ListUsers"])]));

  // An IAM role the mount's root user may assume.
  stsRoleArn = await createAssumableRole(["iam:ListUsers"]);
  await ok(runner.run(["role", "write", "deploy", "--credential-type", "assumed_role", "--role-arns", stsRoleArn]));
});

afterAll(() => {
  runner?.cleanup();
  if (files) rmSync(files, { recursive: true, force: true });
});

/** `issue` that must succeed; records the secrets for the plaintext scan. */
async function issue(args: string[], opts: Parameters<Runner["run"]>[1] = {}) {
  const r = await runner.run(["issue", ...args], opts);
  if (r.code !== 0) throw new Error(`issue ${args.join(" ")} exited ${r.code}\n${r.stderr}`);
  return r;
}

function remember(leaseId: string, ...values: Array<string | null | undefined>) {
  leaseIds.push(leaseId);
  for (const v of values) if (v) secrets.push(v);
}

async function callerArn(accessKey: string, secretKey: string, sessionToken?: string): Promise<string | undefined> {
  return (await clients(accessKey, secretKey, sessionToken).sts.send(new GetCallerIdentityCommand({}))).Arn;
}

/** Runs node code with the given environment (cwd: the repo, so @aws-sdk resolves). */
async function nodeWith(env: Record<string, string | undefined>, code: string): Promise<string> {
  const merged: Record<string, string> = cleanEnv();
  for (const [k, v] of Object.entries(env)) if (v !== undefined) merged[k] = v;
  const { stdout } = await run(process.execPath, ["-e", code], { cwd: repoRoot, env: merged });
  return stdout;
}

/** Node code that calls sts:GetCallerIdentity with the SDK's default credential chain and prints the ARN. */
const WHOAMI = `
const { STSClient, GetCallerIdentityCommand } = require("@aws-sdk/client-sts");
new STSClient({ endpoint: process.env.TEST_ENDPOINT, region: "us-east-1", maxAttempts: 1 })
  .send(new GetCallerIdentityCommand({}))
  .then((r) => console.log(JSON.stringify({ arn: r.Arn, expiration: process.env.AWS_CREDENTIAL_EXPIRATION ?? null, region: process.env.AWS_REGION ?? null, sessionToken: process.env.AWS_SESSION_TOKEN ?? null })))
  .catch((e) => { console.error(e.name + ": " + e.message); process.exit(3); });
`;

describe("issue --format json (iam_user)", () => {
  let lease: any;
  let stderr: string;
  let startedAt: number;

  it("prints exactly one JSON object of Vault's shape plus expires_at; progress goes to stderr", async () => {
    startedAt = Date.now();
    const r = await issue(["dev", "--ttl", "1h", "--format", "json"]);
    stderr = r.stderr;
    lease = JSON.parse(r.stdout); // one value only: JSON.parse rejects anything after it
    remember(lease.lease_id, lease.data.secret_key);
    expect(Object.keys(lease)).toEqual(["lease_id", "lease_duration", "renewable", "expires_at", "data", "warnings"]);
    expect(Object.keys(lease.data)).toEqual(["access_key", "secret_key", "session_token", "security_token", "arn"]);
    expect(lease.lease_id).toMatch(/^aws\/creds\/dev\/[A-Za-z0-9]+$/);
    expect(lease.lease_duration).toBe(3600);
    expect(lease.renewable).toBe(true);
    expect(lease.expires_at).toMatch(ISO_Z);
    const expires = Date.parse(lease.expires_at);
    expect(expires).toBeGreaterThanOrEqual(Math.floor(startedAt / 1000) * 1000 + 3600_000);
    expect(expires).toBeLessThanOrEqual(Date.now() + 3600_000);
    expect(lease.data.access_key).toMatch(/^AKIA[A-Z0-9]{16}$/);
    expect(lease.data.secret_key).toMatch(/^\S{40}$/);
    expect(lease.data.session_token).toBeNull();
    expect(lease.data.security_token).toBeNull();
    expect(lease.data.arn).toMatch(/^arn:aws:iam::123456789012:user\/\S+$/);
    expect(lease.warnings).toEqual([]);
    expect(stderr).toMatch(/^awslease: issuing iam_user credentials for role "dev"/m);
    expect(stderr).not.toContain(lease.data.secret_key);
  });

  it("the key works for the allowed action and is denied another, right after issue (waits until usable)", async () => {
    const username = lease.data.arn.split("/").pop();
    expect(await taggedUsers({ leaseId: lease.lease_id })).toEqual([username]);
    const key = clients(lease.data.access_key, lease.data.secret_key);
    expect((await key.sts.send(new GetCallerIdentityCommand({}))).Arn).toBe(lease.data.arn);
    // The lease's expiry deny policy is attached but not yet in force (the tests' moto evaluates it).
    const listed = await key.iam.send(new ListUsersCommand({}));
    expect(listed.Users?.map((u) => u.UserName)).toContain(username);
    expect(await errorName(key.iam.send(new CreateUserCommand({ UserName: uniq("not-allowed") })))).toBe("AccessDenied");
  });

  it("after lease revoke the key is rejected and the IAM user is gone", async () => {
    const r = await runner.run(["lease", "revoke", lease.lease_id]);
    expect(r.code).toBe(0);
    expect(r.stdout).toBe("");
    expect(r.stderr).toContain(`revoked ${lease.lease_id}`);
    const key = clients(lease.data.access_key, lease.data.secret_key);
    expect(await errorName(key.sts.send(new GetCallerIdentityCommand({})))).toBe("InvalidClientTokenId");
    expect(await userExists(lease.data.arn.split("/").pop())).toBe(false);
    expect(await taggedUsers({ leaseId: lease.lease_id })).toEqual([]);
  });

  it("--quiet: nothing on stderr, the JSON alone on stdout", async () => {
    const r = await issue(["dev", "--format", "json", "--quiet", "--no-wait"]);
    expect(r.stderr).toBe("");
    const quiet = JSON.parse(r.stdout);
    remember(quiet.lease_id, quiet.data.secret_key);
    expect(quiet.lease_id).toMatch(/^aws\/creds\/dev\//);
    // iam_user default TTL: the engine's lease (768h).
    expect(quiet.lease_duration).toBe(768 * 3600);
  });

  it("on a terminal (a pty from script(1)): a spinner on stderr with the step and the engine's step, cleared before the output; piped: plain lines", async () => {
    // stdout to a file, stderr to the pty: script(1) records what the terminal got.
    const out = join(files, "pty-issue.json");
    const cmd = `${JSON.stringify(process.execPath)} ${JSON.stringify(cliEntry)} issue dev --format json > ${JSON.stringify(out)}`;
    const r = await run("script", ["-qec", cmd, "/dev/null"], { cwd: repoRoot, env: { ...runner.env, TERM: "xterm-256color" } });
    const issued = JSON.parse(readFileSync(out, "utf8"));
    remember(issued.lease_id, issued.data.secret_key);
    const terminal = r.stdout;
    // eslint-disable-next-line no-control-regex -- terminal escape codes are what this checks
    expect(terminal).toMatch(/\r\x1b\[2K\x1b\[36m[⠋⠙⠹⠸⠼⠴⠦⠧⠇⠏]\x1b\[39m issuing iam_user credentials for role "dev"/);
    expect(terminal).toContain("· creating AwsLease");
    // The last thing drawn is the clear: no spinner left on the screen.
    expect(terminal.endsWith("\r\x1b[2K")).toBe(true);
    expect(terminal).not.toContain(issued.data.secret_key);
    // The same issue with stderr piped: the plain progress line, no escape codes.
    expect(stderr).not.toContain("\x1b");
    // NO_COLOR: the spinner stays, the colour goes.
    const plain = await run("script", ["-qec", cmd, "/dev/null"], { cwd: repoRoot, env: { ...runner.env, TERM: "xterm-256color", NO_COLOR: "1" } });
    remember(JSON.parse(readFileSync(out, "utf8")).lease_id, JSON.parse(readFileSync(out, "utf8")).data.secret_key);
    // eslint-disable-next-line no-control-regex -- terminal escape codes are what this checks
    expect(plain.stdout).toMatch(/\r\x1b\[2K[⠋⠙⠹⠸⠼⠴⠦⠧⠇⠏] issuing/);
    expect(plain.stdout).not.toContain("\x1b[36m");
  });
});

describe("issue for an assumed_role role (STS)", () => {
  it("json: aws/sts lease id, not renewable, session_token == security_token; the credentials work", async () => {
    const r = await issue(["deploy", "--format", "json", "--ttl", "15m"]);
    const lease = JSON.parse(r.stdout);
    remember(lease.lease_id, lease.data.secret_key, lease.data.session_token);
    expect(lease.lease_id).toMatch(/^aws\/sts\/deploy\/[A-Za-z0-9]+$/);
    expect(lease.renewable).toBe(false);
    expect(lease.lease_duration).toBe(900);
    expect(lease.expires_at).toMatch(ISO_Z);
    expect(typeof lease.data.session_token).toBe("string");
    expect(lease.data.session_token.length).toBeGreaterThan(20);
    expect(lease.data.security_token).toBe(lease.data.session_token);
    const arn = await callerArn(lease.data.access_key, lease.data.secret_key, lease.data.session_token);
    expect(arn).toMatch(new RegExp(`^arn:aws:sts::123456789012:assumed-role/${stsRoleArn.split("/").pop()}/`));

    // STS leases cannot be renewed (Vault: renewable=false).
    const renew = await runner.run(["lease", "renew", lease.lease_id]);
    expect(renew.code).toBe(1);
    expect(errorLines(renew.stderr)).toEqual([expect.stringMatching(/not renewable/)]);
  });

  it("credential-process: includes SessionToken", async () => {
    const r = await issue(["deploy", "--format", "credential-process"]);
    const cp = JSON.parse(r.stdout);
    remember("", cp.SecretAccessKey, cp.SessionToken);
    expect(Object.keys(cp)).toEqual(["Version", "AccessKeyId", "SecretAccessKey", "SessionToken", "Expiration"]);
    expect(cp.Version).toBe(1);
    expect(cp.Expiration).toMatch(ISO_Z);
    expect(await callerArn(cp.AccessKeyId, cp.SecretAccessKey, cp.SessionToken)).toMatch(/:assumed-role\//);
  });

  it("github: masks the session token too and exports it", async () => {
    const envFile = join(files, "sts_github_env");
    writeFileSync(envFile, "");
    const r = await issue(["deploy", "--format", "github"], { env: { GITHUB_ENV: envFile } });
    const vars = parseFileCommands(readFileSync(envFile, "utf8"));
    remember(vars.AWSLEASE_LEASE_ID, vars.AWS_SECRET_ACCESS_KEY, vars.AWS_SESSION_TOKEN);
    expect(vars.AWS_SESSION_TOKEN.length).toBeGreaterThan(20);
    const masks = r.stdout
      .split("\n")
      .filter((l) => l.startsWith("::add-mask::"))
      .map((l) => l.slice("::add-mask::".length));
    expect(masks).toEqual([vars.AWS_ACCESS_KEY_ID, vars.AWS_SECRET_ACCESS_KEY, vars.AWS_SESSION_TOKEN]);
    expect(await callerArn(vars.AWS_ACCESS_KEY_ID, vars.AWS_SECRET_ACCESS_KEY, vars.AWS_SESSION_TOKEN)).toMatch(/:assumed-role\//);
  });
});

/** `NAME<<DELIM\nvalue\nDELIM\n` entries (@actions/core file commands). */
function parseFileCommands(text: string): Record<string, string> {
  const out: Record<string, string> = {};
  const re = /^([^\n<]+)<<(\S+)\n([\s\S]*?)\n?\2\n/gm;
  let consumed = 0;
  for (let m = re.exec(text); m; m = re.exec(text)) {
    expect(m.index).toBe(consumed); // nothing between entries
    out[m[1]] = m[3];
    consumed = re.lastIndex;
  }
  expect(consumed).toBe(text.length);
  return out;
}

describe("issue in the other formats (iam_user), each put to use", () => {
  it("credential-process: exact keys, no SessionToken for iam_user; the keys work", async () => {
    const r = await issue(["dev", "--format", "credential-process", "--no-wait"]);
    const cp = JSON.parse(r.stdout);
    remember("", cp.SecretAccessKey);
    expect(Object.keys(cp)).toEqual(["Version", "AccessKeyId", "SecretAccessKey", "Expiration"]);
    expect(cp.Version).toBe(1);
    expect(cp.Expiration).toMatch(ISO_Z);
    expect(await callerArn(cp.AccessKeyId, cp.SecretAccessKey)).toMatch(/^arn:aws:iam::123456789012:user\//);
  });

  it("credential-process as credential_process in an AWS config file: the AWS SDK gets working credentials from it", async () => {
    const configFile = join(files, "aws-config");
    writeFileSync(
      configFile,
      `[profile lease]\ncredential_process = ${process.execPath} ${cliEntry} issue dev --format credential-process --quiet --no-wait --ttl 30m\n`,
    );
    const out = JSON.parse(
      await nodeWith(
        {
          ...runner.env,
          AWS_CONFIG_FILE: configFile,
          AWS_SHARED_CREDENTIALS_FILE: join(files, "no-credentials"),
          AWS_PROFILE: "lease",
          TEST_ENDPOINT: moto().endpoint,
        },
        WHOAMI,
      ),
    );
    expect(out.arn).toMatch(/^arn:aws:iam::123456789012:user\//);
    // That issue is a real lease: listed, and tagged on its IAM user.
    const listed = JSON.parse(await ok(runner.run(["lease", "list", "--format", "json"])));
    const mine = listed.filter((l: { arn: string }) => l.arn === out.arn);
    expect(mine).toHaveLength(1);
    expect(mine[0].lease_duration).toBe(1800);
    leaseIds.push(mine[0].lease_id);
  });

  it("env: sourced by bash, the variables give working credentials, and a stale session token is unset", async () => {
    const r = await issue(["dev", "--format", "env", "--no-wait"]);
    const lines = r.stdout.trim().split("\n");
    expect(lines.filter((l) => l.startsWith("export ")).map((l) => l.split("=")[0])).toEqual([
      "export AWS_ACCESS_KEY_ID",
      "export AWS_SECRET_ACCESS_KEY",
      "export AWS_CREDENTIAL_EXPIRATION",
      "export AWS_REGION",
      "export AWS_DEFAULT_REGION",
    ]);
    const envFile = join(files, "lease.env");
    writeFileSync(envFile, r.stdout);
    const { stdout } = await run(
      "bash",
      ["-c", 'export AWS_SESSION_TOKEN=stale-token-from-before; source "$1"; exec "$2" -e "$3"', "bash", envFile, process.execPath, WHOAMI],
      { cwd: repoRoot, env: { ...cleanEnv(), TEST_ENDPOINT: moto().endpoint } },
    );
    const seen = JSON.parse(stdout);
    expect(seen.arn).toMatch(/^arn:aws:iam::123456789012:user\//);
    expect(seen.expiration).toMatch(ISO_Z);
    expect(seen.region).toBe("us-east-1");
    expect(seen.sessionToken).toBeNull();
    const secret = /^export AWS_SECRET_ACCESS_KEY='?([^'\n]+)'?$/m.exec(r.stdout)![1];
    remember("", secret);
  });

  it("dotenv: KEY=value lines without export; the values work", async () => {
    const r = await issue(["dev", "--format", "dotenv", "--no-wait"]);
    const vars: Record<string, string> = {};
    for (const line of r.stdout.trim().split("\n")) {
      expect(line).toMatch(/^[A-Z_]+=\S*$/);
      const i = line.indexOf("=");
      vars[line.slice(0, i)] = line.slice(i + 1).replace(/^'(.*)'$/, "$1");
    }
    remember("", vars.AWS_SECRET_ACCESS_KEY);
    expect(Object.keys(vars)).toEqual(["AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_CREDENTIAL_EXPIRATION", "AWS_REGION", "AWS_DEFAULT_REGION"]);
    expect(vars.AWS_CREDENTIAL_EXPIRATION).toMatch(ISO_Z);
    expect(await callerArn(vars.AWS_ACCESS_KEY_ID, vars.AWS_SECRET_ACCESS_KEY)).toMatch(/:user\//);
  });

  it("ini: a ~/.aws/credentials section the AWS SDK loads as a profile", async () => {
    const r = await issue(["dev", "--format", "ini", "--profile", "ci", "--no-wait"]);
    const lines = r.stdout.trim().split("\n");
    expect(lines[0]).toBe("[ci]");
    const entries = Object.fromEntries(lines.slice(1).map((l) => l.split(" = ")));
    remember("", entries.aws_secret_access_key);
    expect(Object.keys(entries)).toEqual(["aws_access_key_id", "aws_secret_access_key", "aws_credential_expiration", "region"]);
    const credentialsFile = join(files, "credentials");
    writeFileSync(credentialsFile, r.stdout);
    const out = JSON.parse(
      await nodeWith(
        { AWS_SHARED_CREDENTIALS_FILE: credentialsFile, AWS_CONFIG_FILE: join(files, "no-config"), AWS_PROFILE: "ci", TEST_ENDPOINT: moto().endpoint },
        WHOAMI,
      ),
    );
    expect(out.arn).toMatch(/^arn:aws:iam::123456789012:user\//);
  });

  it("table: Vault's Key/Value table with the lease and the keys", async () => {
    const r = await issue(["dev", "--no-wait", "--ttl", "1h30m"]);
    const rows = Object.fromEntries(
      r.stdout
        .trim()
        .split("\n")
        .map((l) => l.split(/\s{2,}/)),
    );
    expect(rows.Key).toBe("Value");
    expect(rows.lease_id).toMatch(/^aws\/creds\/dev\//);
    expect(rows.lease_renewable).toBe("true");
    expect(rows.lease_duration).toBe("1h30m0s");
    expect(rows.expires_at).toMatch(ISO_Z);
    remember(rows.lease_id, rows.secret_key);
    expect(await callerArn(rows.access_key, rows.secret_key)).toBe(rows.arn);
  });

  it("github: ::add-mask:: lines first, no secret elsewhere on stdout; GITHUB_ENV and GITHUB_OUTPUT hold the values", async () => {
    const envFile = join(files, "github_env");
    const outputFile = join(files, "github_output");
    writeFileSync(envFile, "PREVIOUS=1\n");
    writeFileSync(outputFile, "");
    const r = await issue(["dev", "--format", "github", "--no-wait"], { env: { GITHUB_ENV: envFile, GITHUB_OUTPUT: outputFile } });
    const envText = readFileSync(envFile, "utf8");
    expect(envText.startsWith("PREVIOUS=1\n")).toBe(true);
    const vars = parseFileCommands(envText.slice("PREVIOUS=1\n".length));
    const outputs = parseFileCommands(readFileSync(outputFile, "utf8"));
    remember(vars.AWSLEASE_LEASE_ID, vars.AWS_SECRET_ACCESS_KEY);

    expect(Object.keys(vars)).toEqual([
      "AWS_ACCESS_KEY_ID",
      "AWS_SECRET_ACCESS_KEY",
      "AWS_SESSION_TOKEN",
      "AWS_CREDENTIAL_EXPIRATION",
      "AWS_REGION",
      "AWS_DEFAULT_REGION",
      "AWSLEASE_LEASE_ID",
    ]);
    expect(vars.AWS_SESSION_TOKEN).toBe("");
    expect(vars.AWSLEASE_LEASE_ID).toMatch(/^aws\/creds\/dev\//);
    expect(outputs).toEqual({
      "lease-id": vars.AWSLEASE_LEASE_ID,
      "aws-access-key-id": vars.AWS_ACCESS_KEY_ID,
      "aws-secret-access-key": vars.AWS_SECRET_ACCESS_KEY,
      "aws-expiration": vars.AWS_CREDENTIAL_EXPIRATION,
    });

    const lines = r.stdout.trim().split("\n");
    const firstOther = lines.findIndex((l) => !l.startsWith("::add-mask::"));
    const masks = lines.slice(0, firstOther).map((l) => l.slice("::add-mask::".length));
    expect(masks).toEqual([vars.AWS_ACCESS_KEY_ID, vars.AWS_SECRET_ACCESS_KEY]);
    const rest = lines.slice(firstOther).join("\n");
    expect(rest.length).toBeGreaterThan(0);
    expect(rest).not.toContain("::add-mask::");
    expect(rest).not.toContain(vars.AWS_SECRET_ACCESS_KEY);
    expect(rest).not.toContain(vars.AWS_ACCESS_KEY_ID);
    expect(r.stderr).not.toContain(vars.AWS_SECRET_ACCESS_KEY);
    expect(await callerArn(vars.AWS_ACCESS_KEY_ID, vars.AWS_SECRET_ACCESS_KEY)).toMatch(/:user\//);
  });

  it("output options that cannot work (github without $GITHUB_ENV, a bad ini profile): exit 1 before anything is issued", async () => {
    const before = JSON.parse(await ok(runner.run(["lease", "list", "--format", "json"]))).length;
    const cases: Array<[string[], Record<string, string | undefined>, RegExp]> = [
      [["--format", "github"], { GITHUB_ENV: undefined }, /GITHUB_ENV/],
      [["--format", "ini", "--profile", "[bad]"], {}, /profile/],
    ];
    for (const [args, env, pattern] of cases) {
      const r = await runner.run(["issue", "dev", "--no-wait", ...args], { env });
      expect(r.code, args.join(" ")).toBe(1);
      expect(r.stdout).toBe("");
      expect(errorLines(r.stderr)).toEqual([expect.stringMatching(pattern)]);
    }
    expect(JSON.parse(await ok(runner.run(["lease", "list", "--format", "json"])))).toHaveLength(before);
  });

  it("github with a $GITHUB_ENV that cannot be written: fails, and the lease it issued is revoked again", async () => {
    const before = JSON.parse(await ok(runner.run(["lease", "list", "--format", "json"])));
    const usersBefore = await taggedUsers({ mount: "aws", role: "dev" });
    const stacksBefore = leaseStackFiles(runner);
    const r = await runner.run(["issue", "dev", "--no-wait", "--format", "github", "--quiet"], { env: { GITHUB_ENV: join(files, "missing-dir", "env") } });
    expect(r.code).not.toBe(0);
    expect(r.stdout).toBe("");
    expect(errorLines(r.stderr)).toEqual([expect.stringMatching(/^awslease: error: .*missing-dir/)]);
    const after = JSON.parse(await ok(runner.run(["lease", "list", "--format", "json"])));
    // The same leases (their ttl counts down meanwhile).
    const ids = (rows: { lease_id: string }[]) => rows.map((l) => l.lease_id).sort();
    expect(ids(after)).toEqual(ids(before));
    expect((await taggedUsers({ mount: "aws", role: "dev" })).sort()).toEqual(usersBefore.sort());
    expect(leaseStackFiles(runner)).toEqual(stacksBefore);
  });
});

function cleanEnv(): Record<string, string> {
  const env: Record<string, string> = {};
  for (const [k, v] of Object.entries(process.env)) if (v !== undefined && !/^(AWS_|AWSLEASE_)/.test(k)) env[k] = v;
  return env;
}

describe("--field (Vault's -field=): one value, raw", () => {
  it("issue, lease lookup and config read print just the field; an unknown field revokes what it issued", async () => {
    const id = (await issue(["dev", "--field", "lease_id", "--no-wait", "--quiet"])).stdout;
    expect(id).toMatch(/^aws\/creds\/dev\/[A-Za-z0-9]{24}\n$/);
    const leaseId = id.trim();
    remember(leaseId);
    const ttl = await ok(runner.run(["lease", "lookup", leaseId, "-field", "ttl"]));
    expect(Number(ttl.trim())).toBeGreaterThan(0);
    expect(await ok(runner.run(["config", "read", "-field=region"]))).toBe(`${moto().region}\n`);
    expect(await ok(runner.run(["role", "read", "dev", "--field", "credential_type"]))).toBe("iam_user\n");
    const before = JSON.parse(await ok(runner.run(["lease", "list", "--format", "json"]))).length;
    const bad = await runner.run(["issue", "dev", "--field", "nope", "--no-wait", "--quiet"]);
    expect(bad.code).toBe(1);
    expect(errorLines(bad.stderr)).toEqual([expect.stringMatching(/--field: no field "nope" here \(fields: .*access_key/)]);
    expect(JSON.parse(await ok(runner.run(["lease", "list", "--format", "json"])))).toHaveLength(before);
  });

  it("--format yaml: the same answer as json, for issue, lookup and revoke", async () => {
    const YAML = require("yaml") as typeof import("yaml");
    const issued = YAML.parse((await issue(["dev", "--format", "yaml", "--no-wait", "--quiet"])).stdout);
    expect(issued).toMatchObject({
      lease_id: expect.stringMatching(/^aws\/creds\/dev\//),
      renewable: true,
      data: { access_key: expect.stringMatching(/^AKIA/) },
    });
    remember(issued.lease_id, issued.data.secret_key);
    const looked = YAML.parse(await ok(runner.run(["lease", "lookup", issued.lease_id, "--format", "yaml"])));
    expect(looked).toEqual({ ...JSON.parse(await ok(runner.run(["lease", "lookup", issued.lease_id, "--format", "json"]))), ttl: expect.any(Number) });
    const revoked = YAML.parse(await ok(runner.run(["lease", "revoke", issued.lease_id, "--format", "yaml", "--quiet"])));
    expect(revoked).toEqual({ lease_id: issued.lease_id, outcome: "revoked", warnings: [] });
  });
});

describe("exit codes and nothing left behind", () => {
  it("unknown role: exit 1, one line naming it", async () => {
    const r = await runner.run(["issue", "nope", "--format", "json"]);
    expectOneLineError(r, 1, /^awslease: error: role: no such role "nope"/);
  });

  it('ttl "1x": exit 1, one line naming ttl', async () => {
    const r = await runner.run(["issue", "dev", "--ttl", "1x"]);
    expectOneLineError(r, 1, /^awslease: error: ttl: .*"1x"/);
  });

  it("an AWS error during issue (policy ARN that does not exist): exit 2, one line naming the AWS action; no IAM user, no lease left", async () => {
    const role = uniq("broken");
    await ok(runner.run(["role", "write", role, "--credential-type", "iam_user", "--policy-arns", `arn:aws:iam::123456789012:policy/${uniq("missing")}`]));
    const stacksBefore = leaseStackFiles(runner);
    expect(stacksBefore.length).toBeGreaterThan(0);
    const r = await runner.run(["issue", role, "--format", "json", "--quiet"]);
    expect(r.code).toBe(2);
    expect(r.stdout).toBe("");
    const lines = errorLines(r.stderr);
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(/^awslease: error: issue failed: .*iam:AttachUserPolicy/);
    expect(r.stderr).not.toContain(moto().secretKey);
    expect(r.stderr).not.toMatch(/\n\s+at /);

    expect(await taggedUsers({ role })).toEqual([]);
    expect(await taggedUsers({ leasePrefix: `aws/creds/${role}/` })).toEqual([]);
    const listed = JSON.parse(await ok(runner.run(["lease", "list", "--format", "json", "--prefix", `aws/creds/${role}/`])));
    expect(listed).toEqual([]);
    // Not even an empty lease stack stays in the backend.
    expect(leaseStackFiles(runner)).toEqual(stacksBefore);
  });

  it('lease lookup / renew / revoke of an unknown lease: exit 1 "no such lease"; revoke --ignore-missing: exit 0', async () => {
    const unknown = "aws/creds/dev/NoSuchLease0000000000000";
    for (const args of [
      ["lease", "lookup", unknown],
      ["lease", "renew", unknown],
      ["lease", "revoke", unknown],
    ]) {
      const r = await runner.run(args);
      expect(r.code, args.join(" ")).toBe(1);
      expect(r.stdout).toBe("");
      expect(errorLines(r.stderr)).toEqual([`awslease: error: lease_id: no such lease "${unknown}"`]);
    }
    const ignored = await runner.run(["lease", "revoke", unknown, "--ignore-missing"]);
    expect(ignored.code).toBe(0);
    expect(ignored.stdout).toBe("");
  });
});

describe("cleanup and the plaintext scan", () => {
  it("lease revoke --prefix aws/ revokes every lease of this file; no tagged IAM user remains", async () => {
    const listed = JSON.parse(await ok(runner.run(["lease", "list", "--format", "json"])));
    expect(listed.length).toBeGreaterThanOrEqual(10);
    const r = await runner.run(["lease", "revoke", "--prefix", "aws/"]);
    expect(r.code).toBe(0);
    for (const l of listed) expect(r.stderr).toContain(`revoked ${l.lease_id}`);
    expect(JSON.parse(await ok(runner.run(["lease", "list", "--format", "json"])))).toEqual([]);
    expect(leaseStackFiles(runner)).toEqual([]);
    for (const l of listed) {
      if (l.credential_type === "iam_user") expect(await userExists(l.username)).toBe(false);
    }
  });

  it("no root secret, issued secret key or session token appears in any file under AWSLEASE_HOME", () => {
    expect(countFiles(runner.home)).toBeGreaterThan(5);
    expect(secrets.length).toBeGreaterThanOrEqual(12);
    expect(filesContaining(runner.home, [moto().secretKey, ...secrets])).toEqual([]);
  });
});
