// `npm run bench`: issue/revoke latency and memory of the real CLI against a local moto,
// with --no-wait (moto keys are valid at once). Prints p50/p90 wall time per command,
// the peak RSS of the whole process tree (CLI + pulumi + provider + language host), and
// whether issue time stays flat as leases accumulate. Measurements, not assertions.
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import { motoConfigWriteArgs, startMoto, type MotoInfo } from "./localMoto";
import { CLI, runCli } from "./cliRunner";
import { descendantsOf } from "../service/pulumi/procfs";

const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 8);
/** Leases in the table for the "large table" rows. */
const LARGE = Number(process.env.BENCH_LEASES ?? 200);
const SMALL = 10;
/** Leases of one `lease revoke --prefix`. */
const BULK = 20;
/** Issues at once while the table is filled (not measured). */
const FILL_PARALLEL = 8;

/** Sum of VmRSS (KiB) over a process and all its descendants, from /proc. */
function treeRssKiB(root: number): number {
  let total = 0;
  for (const pid of [root, ...descendantsOf(root)]) {
    try {
      const m = /VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, "utf8"));
      if (m) total += Number(m[1]);
    } catch {
      /* exited */
    }
  }
  return total;
}

interface Sample {
  ms: number;
  peakMiB: number;
  stdout: string;
}

function timed(args: string[], env: NodeJS.ProcessEnv): Promise<Sample> {
  return timedCommand(process.execPath, [CLI, ...args], env);
}

/** Any command, timed with the peak RSS of its tree (the AWS CLI runs awslease as its credential_process). */
function timedCommand(command: string, args: string[], env: NodeJS.ProcessEnv): Promise<Sample> {
  return new Promise((resolve, reject) => {
    const start = process.hrtime.bigint();
    const child = spawn(command, args, { env, stdio: ["ignore", "pipe", "pipe"] });
    let stdout = "";
    let stderr = "";
    let peak = 0;
    const timer = setInterval(() => {
      if (child.pid) peak = Math.max(peak, treeRssKiB(child.pid));
    }, 20);
    child.stdout.on("data", (d) => (stdout += d));
    child.stderr.on("data", (d) => (stderr += d));
    child.on("close", (code) => {
      clearInterval(timer);
      if (code !== 0) reject(new Error(`${command === process.execPath ? "awslease" : command} ${args.join(" ")} exited ${code}: ${stderr.trim()}`));
      else resolve({ ms: Number(process.hrtime.bigint() - start) / 1e6, peakMiB: peak / 1024, stdout });
    });
  });
}

/** An IAM role the moto root user may assume (allowing iam:ListUsers), for the assumed_role rows; returns its ARN. */
async function assumableRole(info: MotoInfo): Promise<string> {
  const { IAMClient, CreateRoleCommand } = await import("@aws-sdk/client-iam");
  const iam = new IAMClient({ endpoint: info.endpoint, region: info.region, credentials: { accessKeyId: info.accessKey, secretAccessKey: info.secretKey } });
  const trust = {
    Version: "2012-10-17",
    Statement: [{ Effect: "Allow", Principal: { AWS: `arn:aws:iam::${info.accountId}:user/root` }, Action: "sts:AssumeRole" }],
  };
  const role = await iam.send(new CreateRoleCommand({ RoleName: `bench-${randomBytes(4).toString("hex")}`, AssumeRolePolicyDocument: JSON.stringify(trust) }));
  iam.destroy();
  return role.Role!.Arn!;
}

/**
 * The assumed_role rows: issue, and revoke with the session denied on the role
 * (sts_revocation deny: GetRolePolicy, PutRolePolicy, GetRolePolicy) against the same
 * revoke with sts_revocation none (nothing to do in AWS): the cost of real revocation.
 */
async function stsRows(env: NodeJS.ProcessEnv, info: MotoInfo) {
  const must = async (args: string[]) => {
    const r = await runCli(args, env);
    if (r.code !== 0) throw new Error(`awslease ${args.join(" ")}: ${r.stderr.trim()}`);
  };
  const roleArn = await assumableRole(info);
  await must(["role", "write", "sts", "--credential-type", "assumed_role", "--role-arns", roleArn, "-q"]);
  const issues: Sample[] = [];
  const revokes: Record<"deny" | "none", Sample[]> = { deny: [], none: [] };
  for (const mode of ["deny", "none"] as const) {
    await must(["config", "write", "--sts-revocation", mode, "-q"]);
    for (let i = 0; i < ROUNDS; i++) {
      const s = await timed(["issue", "sts", "--ttl", "15m", "--format", "json", "-q"], env);
      issues.push(s);
      revokes[mode].push(await timed(["lease", "revoke", JSON.parse(s.stdout).lease_id, "-q"], env));
    }
  }
  await must(["config", "write", "--sts-revocation", "deny", "-q"]);
  return { issues, revokes };
}

/** Requests at once in the server's load row. */
const CONCURRENT = 20;

/**
 * The server rows: `awslease server` on the same backend (its table has the large
 * table's leases), driven over HTTP as a Vault client would. Its process tree's peak
 * RSS is sampled while the concurrent requests run.
 */
async function serverRows(env: NodeJS.ProcessEnv, someLeaseId: string) {
  const token = `bench-root-${randomBytes(12).toString("hex")}`;
  const child = spawn(process.execPath, [CLI, "server", "--listen", "127.0.0.1:0"], {
    env: { ...env, AWSLEASE_ROOT_TOKEN: token },
    stdio: ["ignore", "pipe", "pipe"],
  });
  let stderr = "";
  child.stderr.on("data", (d) => (stderr += d));
  try {
    const deadline = Date.now() + 60_000;
    while (!/listening on (http:\/\/\S+)/.test(stderr)) {
      if (Date.now() > deadline || child.exitCode !== null) throw new Error(`server did not start: ${stderr}`);
      await new Promise((r) => setTimeout(r, 50));
    }
    const addr = /listening on (http:\/\/\S+)/.exec(stderr)![1];
    const call = async (method: string, path: string, body?: unknown): Promise<Sample & { status: number }> => {
      const start = process.hrtime.bigint();
      const res = await fetch(`${addr}/v1/${path}`, { method, headers: { "X-Vault-Token": token }, body: body ? JSON.stringify(body) : undefined });
      const text = await res.text();
      if (res.status >= 300) throw new Error(`${method} ${path}: ${res.status} ${text}`);
      return { ms: Number(process.hrtime.bigint() - start) / 1e6, peakMiB: 0, stdout: text, status: res.status };
    };
    // Warm-up: the first request loads the engine's code.
    const warm = JSON.parse((await call("GET", "aws/creds/bench")).stdout);
    await call("PUT", "sys/leases/revoke", { lease_id: warm.lease_id });
    const creds: Sample[] = [];
    const revokes: Sample[] = [];
    for (let i = 0; i < ROUNDS; i++) {
      const s = await call("GET", "aws/creds/bench");
      creds.push(s);
      revokes.push(await call("PUT", "sys/leases/revoke", { lease_id: JSON.parse(s.stdout).lease_id }));
    }
    const lookups: Sample[] = [];
    const lists: Sample[] = [];
    for (let i = 0; i < ROUNDS; i++) {
      lookups.push(await call("PUT", "sys/leases/lookup", { lease_id: someLeaseId }));
      lists.push(await call("LIST", "sys/leases/lookup/aws/creds/bench/"));
    }
    let peak = 0;
    const sampler = setInterval(() => (peak = Math.max(peak, treeRssKiB(child.pid!))), 20);
    const start = process.hrtime.bigint();
    const results = await Promise.allSettled(Array.from({ length: CONCURRENT }, () => call("POST", "aws/creds/bench", { ttl: "1h" })));
    const concurrent: Sample = { ms: Number(process.hrtime.bigint() - start) / 1e6, peakMiB: 0, stdout: "" };
    clearInterval(sampler);
    concurrent.peakMiB = peak / 1024;
    return { creds, revokes, lookups, lists, concurrent, concurrentOk: results.filter((r) => r.status === "fulfilled").length };
  } finally {
    child.kill("SIGTERM");
    await new Promise((r) => child.once("close", r));
  }
}

function pct(values: number[], p: number): number {
  const s = [...values].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))];
}

function row(name: string, samples: Sample[]): string {
  const ms = samples.map((s) => s.ms);
  const mem = samples.map((s) => s.peakMiB);
  // HTTP rows measure no process tree; times under a second are in milliseconds.
  const time = (v: number) => (v < 1000 ? `${v.toFixed(0)} ms` : `${(v / 1000).toFixed(2)} s`);
  const rss = Math.max(...mem) > 0 ? `   peak RSS max ${Math.max(...mem).toFixed(0)} MiB` : "";
  return `${name.padEnd(50)} n=${String(samples.length).padEnd(3)} p50 ${time(pct(ms, 50))}   p90 ${time(pct(ms, 90))}${rss}`;
}

async function main() {
  const home = mkdtempSync(join(tmpdir(), "awslease-bench-"));
  const moto = await startMoto();
  const env = { ...process.env, AWSLEASE_HOME: home, PULUMI_CONFIG_PASSPHRASE: randomBytes(16).toString("hex") };
  try {
    const { endpoint, region } = moto.info;
    const setup = await runCli([...motoConfigWriteArgs(moto.info), "-q"], env, moto.info.secretKey);
    if (setup.code !== 0) throw new Error(setup.stderr);
    const policy = JSON.stringify({ Version: "2012-10-17", Statement: [{ Effect: "Allow", Action: "iam:ListUsers", Resource: "*" }] });
    await runCli(["role", "write", "bench", "--credential-type", "iam_user", "--policy-document", policy, "-q"], env);

    const issue = () => timed(["issue", "bench", "--no-wait", "--format", "json", "-q"], env);
    // One warm-up run (first spawn of node/pulumi pays disk cache misses).
    const warm = await issue();
    await timed(["lease", "revoke", JSON.parse(warm.stdout).lease_id, "-q"], env);

    const issues: Sample[] = [];
    const revokes: Sample[] = [];
    for (let i = 0; i < ROUNDS; i++) {
      const s = await issue();
      issues.push(s);
      revokes.push(await timed(["lease", "revoke", JSON.parse(s.stdout).lease_id, "-q"], env));
    }
    /** Issues `n` leases of `role`, FILL_PARALLEL at a time (filling the table, not measured). */
    const fill = async (n: number, role = "bench") => {
      for (let done = 0; done < n; done += FILL_PARALLEL) {
        const batch = Math.min(FILL_PARALLEL, n - done);
        await Promise.all(Array.from({ length: batch }, () => timed(["issue", role, "--no-wait", "--format", "json", "-q"], env)));
      }
    };
    const list = () => timed(["lease", "list", "--format", "json", "-q"], env);
    const repeat = async (fn: () => Promise<Sample>) => {
      const out: Sample[] = [];
      for (let i = 0; i < ROUNDS; i++) out.push(await fn());
      return out;
    };

    await fill(SMALL);
    const listSmall = await repeat(list);
    await fill(LARGE - SMALL);
    const listLarge = await repeat(list);
    // Leases accumulate: does issuing get slower with a larger lease table?
    const later = await repeat(issue);

    await runCli(["role", "write", "bulk", "--credential-type", "iam_user", "--policy-document", policy, "-q"], env);
    await fill(BULK, "bulk");
    const bulk = [await timed(["lease", "revoke", "--prefix", "aws/creds/bulk/", "-q"], env)];

    // credential_process: each round a new session name, so its first call issues and its second reuses.
    const awsConfig = join(home, "aws-config");
    const { writeFileSync } = await import("node:fs");
    const awsEnv = (session: string) => {
      writeFileSync(
        awsConfig,
        `[profile bench]\ncredential_process = ${process.execPath} ${CLI} credential-process bench --ttl 1h --no-wait --quiet --session ${session}\n`,
      );
      return {
        ...env,
        AWS_CONFIG_FILE: awsConfig,
        AWS_SHARED_CREDENTIALS_FILE: join(home, "none"),
        AWS_PROFILE: "bench",
        AWS_ENDPOINT_URL: endpoint,
        AWS_DEFAULT_REGION: region,
      };
    };
    const awsCall = (e: NodeJS.ProcessEnv) => timedCommand("python3", ["-m", "awscli", "sts", "get-caller-identity"], e);
    const leaseCount = async () => JSON.parse((await list()).stdout).length as number;
    const before = await leaseCount();
    const awsFirst: Sample[] = [];
    const awsSecond: Sample[] = [];
    const arns = new Set<string>();
    for (let i = 0; i < ROUNDS; i++) {
      const e = awsEnv(`bench-${i}`);
      const first = await awsCall(e);
      const second = await awsCall(e);
      if (JSON.parse(first.stdout).Arn !== JSON.parse(second.stdout).Arn) throw new Error("credential_process: the second call got another lease");
      arns.add(JSON.parse(first.stdout).Arn);
      awsFirst.push(first);
      awsSecond.push(second);
    }
    const issuedByAws = (await leaseCount()) - before;
    const direct = await repeat(() => timed(["credential-process", "bench", "--ttl", "1h", "--quiet", "--session", "bench-0"], env));
    const log = await repeat(() => timed(["lease", "log", "--format", "json", "-q"], env));
    const logEvents = (JSON.parse(log[0].stdout) as { events: unknown[] }[]).reduce((n, l) => n + l.events.length, 0);

    const server = await serverRows(env, JSON.parse(later[0].stdout).lease_id);
    const sts = await stsRows(env, moto.info);

    const p50 = (xs: Sample[]) =>
      pct(
        xs.map((x) => x.ms),
        50,
      );
    console.log(`awslease bench: node ${process.version}, ${ROUNDS} rounds, local moto, file backend, --no-wait`);
    console.log(row("issue (empty lease table)", issues));
    console.log(row("lease revoke", revokes));
    console.log(row(`issue (${LARGE}+ leases in the table)`, later));
    console.log(row(`lease list (${SMALL} leases)`, listSmall));
    console.log(row(`lease list (${LARGE} leases)`, listLarge));
    console.log(row(`lease revoke --prefix (${BULK} leases)`, bulk));
    console.log(row("aws sts get-caller-identity, 1st", awsFirst));
    console.log(row("aws sts get-caller-identity, 2nd", awsSecond));
    console.log(row("credential-process (reuse)", direct));
    console.log(row(`lease log (${logEvents} events)`, log));
    console.log(row("issue (assumed_role)", sts.issues));
    console.log(row("lease revoke (assumed_role, session denied)", sts.revokes.deny));
    console.log(row("lease revoke (assumed_role, sts_revocation none)", sts.revokes.none));
    console.log(`credential_process: ${ROUNDS * 2} aws calls in ${ROUNDS} sessions issued ${issuedByAws} leases (${arns.size} distinct IAM users)`);
    console.log(`issue p50 with ${LARGE}+ leases / empty table: ${(p50(later) / p50(issues)).toFixed(2)}x`);
    console.log(`lease list p50 with ${LARGE} leases / ${SMALL} leases: ${(p50(listLarge) / p50(listSmall)).toFixed(2)}x`);
    console.log(`lease revoke --prefix of ${BULK} / one lease revoke p50: ${(p50(bulk) / p50(revokes)).toFixed(2)}x`);
    console.log(row("server: GET aws/creds/bench", server.creds));
    console.log(row("server: sys/leases/revoke", server.revokes));
    console.log(row(`server: sys/leases/lookup (${LARGE}+ leases)`, server.lookups));
    console.log(row(`server: LIST sys/leases/lookup (${LARGE}+)`, server.lists));
    console.log(row(`server: ${CONCURRENT} creds at once (wall)`, [server.concurrent]));
    console.log(
      `server: ${CONCURRENT} concurrent creds requests: ${server.concurrentOk} of ${CONCURRENT} succeeded; peak RSS of the server's process tree ${server.concurrent.peakMiB.toFixed(0)} MiB`,
    );
    console.log(`server creds p50 / CLI issue p50 (same run): ${(p50(server.creds) / p50(issues)).toFixed(2)}x`);
  } finally {
    await moto.stop();
    rmSync(home, { recursive: true, force: true });
  }
}

main().catch((err) => {
  console.error(`bench failed: ${(err as Error).message}`);
  process.exitCode = 1;
});
