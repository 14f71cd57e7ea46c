// Security of the CLI's whole life cycle through the real engine against moto: config
// write, issue (iam_user and STS), renew, exec, rotate-root and revoke. While they
// run, every process's command line is sampled from /proc; afterwards every file under
// AWSLEASE_HOME, the backend and the temp directory is searched for every secret the
// table ever held (read back decrypted with the passphrase), and every file the CLI
// created must be owner-only.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { execFileSync } from "node:child_process";
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { AttachUserPolicyCommand, CreateAccessKeyCommand, CreateUserCommand } from "@aws-sdk/client-iam";
import { moto, uniq } from "../support/aws";
import { allowPolicy, cliRunner, countFiles, filesContaining, rootClients, type CliResult, type Runner } from "../support/cli";

const mount = uniq("sec");
let runner: Runner;
/** TMPDIR of every CLI run here: what the CLI and the engine leave in it is searched too. */
let tmp: string;
const results: { args: string[]; result: CliResult }[] = [];
const cmdlines = new Set<string>();
let sampler: NodeJS.Timeout | undefined;
let samples = 0;
let rootKey: { id: string; secret: string };

function sample(): void {
  samples++;
  for (const pid of readdirSync("/proc").filter((e) => /^\d+$/.test(e))) {
    try {
      cmdlines.add(readFileSync(`/proc/${pid}/cmdline`, "latin1").replace(/\0/g, " "));
    } catch {
      /* gone */
    }
  }
}

async function run(args: string[], opts: { stdin?: string } = {}): Promise<CliResult> {
  const result = await runner.run(args, { ...opts, env: { TMPDIR: tmp } });
  results.push({ args, result });
  if (result.code !== 0) throw new Error(`awslease ${args.join(" ")} exited ${result.code}: ${result.stderr}`);
  return result;
}

/** Every secret value the lease table holds, decrypted with the passphrase (pulumi stack export --show-secrets). */
function secretsInTable(): string[] {
  const project = mkdtempSync(join(tmpdir(), "awslease-sec-export-"));
  try {
    writeFileSync(join(project, "Pulumi.yaml"), "name: awslease\nruntime: nodejs\n");
    const env = { ...process.env, ...runner.env, PULUMI_BACKEND_URL: `file://${runner.home}/state`, PULUMI_HOME: join(project, "home") };
    const stacks = JSON.parse(execFileSync("pulumi", ["stack", "ls", "--json"], { cwd: project, env, encoding: "utf8" })) as { name: string }[];
    const found = new Set<string>();
    for (const { name } of stacks) {
      const text = execFileSync("pulumi", ["stack", "export", "--show-secrets", "--stack", name], { cwd: project, env, encoding: "utf8" });
      // Secret values may be JSON inside a string (a secret object's "plaintext"): quotes escaped.
      for (const m of text.matchAll(/\\?"(secretKey|secretAccessKey|sessionToken)\\?":\s*\\?"([A-Za-z0-9/+=]{16,})/g)) found.add(m[2]);
    }
    return [...found];
  } finally {
    rmSync(project, { recursive: true, force: true });
  }
}

/** Files and directories under dir whose mode lets anyone but the owner in. */
function notOwnerOnly(dir: string): string[] {
  const loose: string[] = [];
  const walk = (d: string) => {
    for (const entry of readdirSync(d)) {
      const p = join(d, entry);
      const st = statSync(p, { throwIfNoEntry: false });
      if (!st) continue;
      if ((st.mode & 0o077) !== 0) loose.push(`${p} ${(st.mode & 0o777).toString(8)}`);
      if (st.isDirectory()) walk(p);
    }
  };
  walk(dir);
  return loose;
}

const secrets: string[] = [];

beforeAll(async () => {
  tmp = mkdtempSync(join(tmpdir(), "awslease-sec-tmp-"));
  runner = cliRunner({ mount });
  // A root user of its own: rotate-root replaces its key.
  const { iam } = rootClients();
  const admin = uniq("secroot");
  await iam.send(new CreateUserCommand({ UserName: admin }));
  await iam.send(new AttachUserPolicyCommand({ UserName: admin, PolicyArn: "arn:aws:iam::aws:policy/AdministratorAccess" }));
  const key = (await iam.send(new CreateAccessKeyCommand({ UserName: admin }))).AccessKey!;
  rootKey = { id: key.AccessKeyId!, secret: key.SecretAccessKey! };
  secrets.push(rootKey.secret);

  sampler = setInterval(sample, 15);
  const m = moto();
  await run(
    ["config", "write", "--access-key", rootKey.id, "--secret-key-stdin", "--region", m.region, "--iam-endpoint", m.endpoint, "--sts-endpoint", m.endpoint],
    { stdin: `${rootKey.secret}\n` },
  );
  await run(["role", "write", "user", "--credential-type", "iam_user", "--policy-document", allowPolicy(["iam:ListUsers"])]);
  await run(["role", "write", "fed", "--credential-type", "federation_token", "--policy-document", allowPolicy(["iam:ListUsers"])]);
  const user = JSON.parse((await run(["issue", "user", "--format", "json", "--no-wait"])).stdout);
  const sts = JSON.parse((await run(["issue", "fed", "--format", "json"])).stdout);
  secrets.push(user.data.secret_key, sts.data.secret_key, sts.data.session_token);
  await run(["lease", "renew", user.lease_id, "--increment", "2h"]);
  await run(["exec", "user", "--no-wait", "--", process.execPath, "-e", "process.exit(0)"]);
  await run(["config", "rotate-root"]);
  // What the table holds now, decrypted: the rotated root secret among it.
  for (const s of secretsInTable()) if (!secrets.includes(s)) secrets.push(s);
  await run(["lease", "revoke", user.lease_id]);
  await run(["lease", "revoke", sts.lease_id]);
  await run(["lease", "list"]);
  await run(["config", "read", "--format", "json"]);
  clearInterval(sampler);
  sampler = undefined;
}, 600_000);

afterAll(() => {
  if (sampler) clearInterval(sampler);
  runner?.cleanup();
  if (tmp) rmSync(tmp, { recursive: true, force: true });
});

describe("no secret in plaintext, anywhere", () => {
  it("knows the secrets it looks for: the old and the rotated root secret, both lease secrets, the session token", () => {
    expect(secrets.length).toBeGreaterThanOrEqual(5);
    expect(new Set(secrets).size).toBe(secrets.length);
  });

  it("no file under AWSLEASE_HOME (state, backups, history, locks, PULUMI_HOME) holds one", () => {
    expect(countFiles(runner.home)).toBeGreaterThan(10);
    expect(filesContaining(runner.home, secrets)).toEqual([]);
  });

  it("no file the CLI or the engine left in the temp directory holds one", () => {
    expect(filesContaining(tmp, secrets)).toEqual([]);
  });

  it("no process's command line held one while the commands ran", () => {
    expect(samples).toBeGreaterThan(50);
    // The sampler saw the engine at work.
    expect([...cmdlines].some((c) => /\/pulumi (up|destroy) /.test(c))).toBe(true);
    expect([...cmdlines].some((c) => c.includes("dynamic-provider"))).toBe(true);
    expect([...cmdlines].filter((c) => secrets.some((s) => c.includes(s)))).toEqual([]);
  });

  it("stderr never holds one, and stdout only where the format prints credentials (issue --format json)", () => {
    expect(results.length).toBeGreaterThan(10);
    for (const { args, result } of results) {
      expect(
        secrets.filter((s) => result.stderr.includes(s)),
        `stderr of ${args.join(" ")}`,
      ).toEqual([]);
      const printsCredentials = args[0] === "issue";
      if (!printsCredentials)
        expect(
          secrets.filter((s) => result.stdout.includes(s)),
          `stdout of ${args.join(" ")}`,
        ).toEqual([]);
    }
  });
});

describe("files and directories the CLI creates are owner-only", () => {
  it("everything under AWSLEASE_HOME is 0600 / 0700 (group and others have no access)", () => {
    expect(notOwnerOnly(runner.home)).toEqual([]);
  });
});
