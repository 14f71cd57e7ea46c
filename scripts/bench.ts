// `npm run bench`: issue/revoke latency and memory of the real CLI against a local moto,
// with --no-wait (moto keys are valid at once). Prints p50/p90 wall time per command,
// the peak RSS of the whole process tree (CLI + pulumi + provider + language host), and
// whether issue time stays flat as leases accumulate. Measurements, not assertions.
import { mkdtempSync, readFileSync, readdirSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import { startMoto } from "./localMoto";
import { CLI, runCli } from "./cliRunner";

const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 8);
const BACKLOG = Number(process.env.BENCH_BACKLOG ?? 20);

/** Sum of VmRSS (KiB) over a process and all its descendants, from /proc. */
function treeRssKiB(root: number): number {
  const parent = new Map<number, number>();
  for (const entry of readdirSync("/proc")) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, "utf8");
      const ppid = Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[1]);
      parent.set(Number(entry), ppid);
    } catch {
      /* exited */
    }
  }
  let total = 0;
  for (const pid of parent.keys()) {
    let p: number | undefined = pid;
    while (p && p !== root && p !== 1) p = parent.get(p);
    if (p !== root) continue;
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
  return new Promise((resolve, reject) => {
    const start = process.hrtime.bigint();
    const child = spawn(process.execPath, [CLI, ...args], { env, stdio: ["ignore", "pipe", "pipe"] });
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
      if (code !== 0) reject(new Error(`awslease ${args.join(" ")} exited ${code}: ${stderr.trim()}`));
      else resolve({ ms: Number(process.hrtime.bigint() - start) / 1e6, peakMiB: peak / 1024, stdout });
    });
  });
}

function pct(values: number[], p: number): number {
  const s = [...values].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))];
}

function row(name: string, samples: Sample[]): string {
  const ms = samples.map((s) => s.ms);
  const mem = samples.map((s) => s.peakMiB);
  return `${name.padEnd(34)} n=${String(samples.length).padEnd(3)} p50 ${(pct(ms, 50) / 1000).toFixed(2)} s   p90 ${(pct(ms, 90) / 1000).toFixed(2)} s   peak RSS max ${Math.max(...mem).toFixed(0)} MiB`;
}

async function main() {
  const home = mkdtempSync(join(tmpdir(), "awslease-bench-"));
  const moto = await startMoto();
  const env = { ...process.env, AWSLEASE_HOME: home, PULUMI_CONFIG_PASSPHRASE: randomBytes(16).toString("hex") };
  try {
    const { endpoint, region } = moto.info;
    const setup = await runCli(
      ["config", "write", "--access-key", moto.info.accessKey, "--secret-key-stdin", "--region", region,
        "--iam-endpoint", endpoint, "--sts-endpoint", endpoint, "-q"],
      env,
      moto.info.secretKey,
    );
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
    // Leases accumulate: does issuing get slower with a larger lease table?
    for (let i = 0; i < BACKLOG; i++) await issue();
    const later: Sample[] = [];
    for (let i = 0; i < ROUNDS; i++) later.push(await issue());

    console.log(`awslease bench: node ${process.version}, ${ROUNDS} rounds, local moto, file backend, --no-wait`);
    console.log(row("issue (empty lease table)", issues));
    console.log(row("lease revoke", revokes));
    console.log(row(`issue (${BACKLOG}+ leases in the table)`, later));
    const ratio = pct(later.map((s) => s.ms), 50) / pct(issues.map((s) => s.ms), 50);
    console.log(`issue p50 with ${BACKLOG}+ leases / empty table: ${ratio.toFixed(2)}x`);
  } finally {
    await moto.stop();
    rmSync(home, { recursive: true, force: true });
  }
}

main().catch((err) => {
  console.error(`bench failed: ${(err as Error).message}`);
  process.exitCode = 1;
});
