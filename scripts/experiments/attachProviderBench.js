// Experiment: can the engine use a dynamic-provider process that stays up between
// `pulumi up` runs (PULUMI_DEBUG_PROVIDERS=pulumi-nodejs:<port>), how much does it save
// per issue, and is it correct with concurrent engine runs?
//
//   bash scripts/with-tools.sh node scripts/experiments/attachProviderBench.js
//
// Env: ROUNDS (sequential issues per mode, default 8), PARALLEL (concurrent issues,
// default 8), SKIP_CRASH=1 (skip the provider-crash phase). Uses the built dist/ and
// bin/awslease.js as they are; everything lives in a temp AWSLEASE_HOME and a local
// moto, both removed at the end. Prints a table and a JSON summary on the last line.
"use strict";
const { spawn } = require("node:child_process");
const { mkdtempSync, readFileSync, readdirSync, rmSync } = require("node:fs");
const { tmpdir } = require("node:os");
const path = require("node:path");
const { randomBytes } = require("node:crypto");

const ROOT = process.env.AWSLEASE_ROOT ? path.resolve(process.env.AWSLEASE_ROOT) : path.resolve(__dirname, "../..");
const CLI = path.join(ROOT, "bin/awslease.js");
const { startMoto } = require(path.join(ROOT, "dist/scripts/localMoto.js"));
const { descendantsOf } = require(path.join(ROOT, "dist/service/pulumi/procfs.js"));
const { STSClient, GetCallerIdentityCommand } = require("@aws-sdk/client-sts");

const ROUNDS = Number(process.env.ROUNDS ?? 8);
const PARALLEL = Number(process.env.PARALLEL ?? 8);

// ------------------------------------------------------------------ processes

function cmdline(pid) {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, "utf8").split("\0").filter(Boolean).join(" ");
  } catch {
    return undefined;
  }
}

function environOf(pid) {
  try {
    return readFileSync(`/proc/${pid}/environ`, "utf8");
  } catch {
    return "";
  }
}

/** Processes started for this experiment's home (they inherit AWSLEASE_HOME), except `except`. */
function ourProcesses(home, except = []) {
  const out = [];
  for (const e of readdirSync("/proc")) {
    if (!/^\d+$/.test(e)) continue;
    const pid = Number(e);
    if (pid === process.pid || except.includes(pid)) continue;
    if (!environOf(pid).includes(`AWSLEASE_HOME=${home}\0`)) continue;
    try {
      const state = readFileSync(`/proc/${pid}/stat`, "utf8").split(") ")[1][0];
      if (state === "Z") continue;
    } catch {
      continue;
    }
    out.push({ pid, cmd: cmdline(pid) });
  }
  return out;
}

function kindOf(cmd) {
  if (!cmd) return "?";
  // The plugin script runs `node -e require.resolve(...)` first, then the provider.
  if (cmd.includes("require.resolve")) return "provider-resolve";
  if (cmd.includes("dynamic-provider")) return "provider";
  if (cmd.includes("pulumi-resource-pulumi-nodejs")) return "provider-sh";
  if (/(^|\/)pulumi( |$)/.test(cmd.split(" ")[0])) return `pulumi ${cmd.split(" ")[1] ?? ""}`.trim();
  if (cmd.includes("awslease.js")) return "cli";
  return cmd.split(" ")[0].split("/").pop();
}

/**
 * Runs the CLI, sampling its process tree every few ms: when each pulumi / provider
 * process was first and last seen (ms after the CLI was spawned).
 */
function runCli(args, env, opts = {}) {
  return new Promise((resolve, reject) => {
    const start = process.hrtime.bigint();
    const now = () => Number(process.hrtime.bigint() - start) / 1e6;
    const child = spawn(process.execPath, [CLI, ...args], { env, stdio: ["pipe", "pipe", "pipe"] });
    let stdout = "";
    let stderr = "";
    const seen = new Map();
    const sample = () => {
      if (!child.pid) return;
      const t = now();
      for (const pid of descendantsOf(child.pid)) {
        let s = seen.get(pid);
        if (!s) {
          s = { pid, kind: kindOf(cmdline(pid)), first: t, last: t };
          seen.set(pid, s);
        }
        s.last = t;
      }
    };
    const timer = opts.sample === false ? undefined : setInterval(sample, 4);
    child.stdout.on("data", (d) => (stdout += d));
    child.stderr.on("data", (d) => (stderr += d));
    child.on("error", reject);
    child.on("close", (code) => {
      if (timer) clearInterval(timer);
      resolve({ code: code ?? 1, stdout, stderr, ms: now(), procs: [...seen.values()] });
    });
    child.stdin.end(opts.stdin ?? "");
  });
}

async function must(args, env, opts) {
  const r = await runCli(args, env, opts);
  if (r.code !== 0) throw new Error(`awslease ${args.join(" ")} exited ${r.code}: ${r.stderr.trim()}`);
  return r;
}

// ------------------------------------------------------------------ the provider

/** Starts scripts/experiments/attachedProvider.js; resolves with its port. */
function startProvider(env, stock = false) {
  return new Promise((resolve, reject) => {
    const t0 = process.hrtime.bigint();
    const args = [path.join(__dirname, "attachedProvider.js")];
    if (stock) args.push("--stock");
    const child = spawn(process.execPath, args, { env, stdio: ["ignore", "pipe", "pipe"] });
    let out = "";
    let err = "";
    const onData = (d) => {
      out += d;
      const nl = out.indexOf("\n");
      if (nl >= 0) {
        child.stdout.off("data", onData);
        const port = Number(out.slice(0, nl).trim());
        const startMs = Number(process.hrtime.bigint() - t0) / 1e6;
        resolve({
          child,
          port,
          startMs,
          stderr: () => err,
          stop: () =>
            new Promise((r) => {
              if (child.exitCode !== null || child.signalCode !== null) return r();
              child.once("exit", () => r());
              child.kill("SIGTERM");
            }),
        });
      }
    };
    child.stdout.on("data", onData);
    child.stderr.on("data", (d) => (err += d));
    child.on("exit", (code, sig) => reject(new Error(`provider exited early (${code ?? sig}): ${err.trim()}`)));
  });
}

function rssMiB(pid) {
  try {
    const m = /VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, "utf8"));
    return m ? Number(m[1]) / 1024 : NaN;
  } catch {
    return NaN;
  }
}

// ------------------------------------------------------------------ stats

function pct(values, p) {
  const s = [...values].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))];
}
const secs = (ms) => (ms / 1000).toFixed(2);
const median = (xs) => pct(xs, 50);

/** Per issue: CLI start -> pulumi up spawned, pulumi up lifetime, provider lifetime, after pulumi up. */
function breakdown(r) {
  const up = r.procs.find((p) => p.kind === "pulumi up");
  const prov = r.procs.filter((p) => p.kind === "provider");
  const pulumis = r.procs.filter((p) => p.kind.startsWith("pulumi"));
  return {
    total: r.ms,
    beforeUp: up ? up.first : NaN,
    up: up ? up.last - up.first : NaN,
    provider: prov.length ? Math.max(...prov.map((p) => p.last)) - Math.min(...prov.map((p) => p.first)) : 0,
    providerSpawns: prov.length,
    afterUp: up ? r.ms - up.last : NaN,
    pulumiRuns: pulumis.map((p) => p.kind),
  };
}

function summarize(name, runs) {
  const b = runs.map(breakdown);
  const med = (k) => median(b.map((x) => x[k]));
  return {
    name,
    n: runs.length,
    p50: med("total"),
    p90: pct(b.map((x) => x.total), 90),
    beforeUp: med("beforeUp"),
    up: med("up"),
    provider: med("provider"),
    afterUp: med("afterUp"),
    providerSpawns: b.reduce((n, x) => n + x.providerSpawns, 0),
    pulumiRuns: b[0]?.pulumiRuns,
  };
}

function row(s) {
  return (
    `${s.name.padEnd(40)} n=${String(s.n).padEnd(3)} p50 ${secs(s.p50)} s  p90 ${secs(s.p90)} s` +
    (Number.isFinite(s.up)
      ? `  | before up ${secs(s.beforeUp)}  up ${secs(s.up)} (provider alive ${secs(s.provider)})  after ${secs(s.afterUp)}  provider spawns ${s.providerSpawns}`
      : "")
  );
}

// ------------------------------------------------------------------ checks

async function identity(moto, lease) {
  const sts = new STSClient({
    endpoint: moto.info.endpoint,
    region: moto.info.region,
    maxAttempts: 1,
    credentials: { accessKeyId: lease.data.access_key, secretAccessKey: lease.data.secret_key },
  });
  try {
    const id = await sts.send(new GetCallerIdentityCommand({}));
    return { ok: true, arn: id.Arn };
  } catch (err) {
    return { ok: false, error: err.name };
  } finally {
    sts.destroy();
  }
}

/** Every lease's key works and belongs to its own IAM user. */
async function checkIssued(moto, leases) {
  const ids = await Promise.all(leases.map((l) => identity(moto, l)));
  const bad = ids.filter((i) => !i.ok);
  const arns = new Set(ids.filter((i) => i.ok).map((i) => i.arn));
  return { keysWork: bad.length === 0, distinctUsers: arns.size, leases: leases.length, errors: bad.map((b) => b.error) };
}

/** After revoke: every key is rejected. */
async function checkRevoked(moto, leases) {
  const ids = await Promise.all(leases.map((l) => identity(moto, l)));
  return { allRejected: ids.every((i) => !i.ok), stillWorking: ids.filter((i) => i.ok).length };
}

/** IAM user names in moto (root credentials). */
async function iamUsers(moto) {
  const { IAMClient, ListUsersCommand } = require("@aws-sdk/client-iam");
  const iam = new IAMClient({ endpoint: moto.info.endpoint, region: moto.info.region, credentials: { accessKeyId: moto.info.accessKey, secretAccessKey: moto.info.secretKey } });
  try {
    return ((await iam.send(new ListUsersCommand({ MaxItems: 1000 }))).Users ?? []).map((u) => u.UserName);
  } finally {
    iam.destroy();
  }
}

async function leaseCount(env) {
  const r = await must(["lease", "list", "--format", "json", "-q"], env, { sample: false });
  return JSON.parse(r.stdout).length;
}

// ------------------------------------------------------------------ main

async function main() {
  const home = mkdtempSync(path.join(tmpdir(), "awslease-attach-"));
  const moto = await startMoto();
  const env = { ...process.env, AWSLEASE_HOME: home, PULUMI_CONFIG_PASSPHRASE: randomBytes(16).toString("hex") };
  const report = { node: process.version, rounds: ROUNDS, parallel: PARALLEL, phases: {} };
  const log = (s) => console.log(s);
  let provider;
  try {
    const { endpoint, region } = moto.info;
    await must(
      ["config", "write", "--access-key", moto.info.accessKey, "--secret-key-stdin", "--region", region,
        "--iam-endpoint", endpoint, "--sts-endpoint", endpoint, "--lease", "1h", "--lease-max", "24h", "-q"],
      env,
      { stdin: moto.info.secretKey, sample: false },
    );
    const policy = JSON.stringify({
      Version: "2012-10-17",
      Statement: [{ Effect: "Allow", Action: ["iam:ListUsers", "sts:GetCallerIdentity"], Resource: "*" }],
    });
    await must(["role", "write", "exp", "--credential-type", "iam_user", "--policy-document", policy, "-q"], env, { sample: false });

    const issueArgs = ["issue", "exp", "--no-wait", "--format", "json", "-q"];
    const issue = (e) => must(issueArgs, e);
    const revoke = (e, lease) => must(["lease", "revoke", lease.lease_id, "-q"], e);

    // Warm-up (disk caches, V8 compile cache), not measured.
    {
      const w = await issue(env);
      await revoke(env, JSON.parse(w.stdout));
    }

    // ---- 1. today: every run spawns its own provider
    const seq = async (e, label) => {
      const runs = [];
      for (let i = 0; i < ROUNDS; i++) runs.push(await issue(e));
      const leases = runs.map((r) => JSON.parse(r.stdout));
      const issued = await checkIssued(moto, leases);
      const revokes = [];
      for (const l of leases) revokes.push(await revoke(e, l));
      const revoked = await checkRevoked(moto, leases);
      const issueSummary = summarize(`${label}: issue (sequential)`, runs);
      const revokeSummary = summarize(`${label}: lease revoke (sequential)`, revokes);
      log(row(issueSummary));
      log(row(revokeSummary));
      log(`  checks: ${JSON.stringify({ issued, revoked })}`);
      return { issue: issueSummary, revoke: revokeSummary, issued, revoked };
    };
    const par = async (e, label) => {
      const t0 = Date.now();
      const runs = await Promise.all(Array.from({ length: PARALLEL }, () => runCli(issueArgs, e)));
      const wall = Date.now() - t0;
      const failed = runs.filter((r) => r.code !== 0).map((r) => r.stderr.trim().split("\n").pop());
      const leases = runs.filter((r) => r.code === 0).map((r) => JSON.parse(r.stdout));
      const issued = await checkIssued(moto, leases);
      const t1 = Date.now();
      const revokes = await Promise.all(leases.map((l) => runCli(["lease", "revoke", l.lease_id, "-q"], e)));
      const revokeWall = Date.now() - t1;
      const revokeFailed = revokes.filter((r) => r.code !== 0).map((r) => r.stderr.trim().split("\n").pop());
      const revoked = await checkRevoked(moto, leases);
      const s = summarize(`${label}: issue x${PARALLEL} concurrent`, runs.filter((r) => r.code === 0));
      const rs = summarize(`${label}: revoke x${PARALLEL} concurrent`, revokes.filter((r) => r.code === 0));
      log(`${row(s)}\n  batch wall ${secs(wall)} s; failures ${failed.length}${failed.length ? `: ${failed.join(" | ")}` : ""}`);
      log(`${row(rs)}\n  batch wall ${secs(revokeWall)} s; failures ${revokeFailed.length}${revokeFailed.length ? `: ${revokeFailed.join(" | ")}` : ""}`);
      log(`  checks: ${JSON.stringify({ issued, revoked })}`);
      return { issue: s, revoke: rs, wall, revokeWall, failed, revokeFailed, issued, revoked };
    };

    log(`\n== 1. as today (a provider process per engine run), ${ROUNDS} rounds`);
    report.phases.today = await seq(env, "today");
    log(`\n== 1b. as today, ${PARALLEL} concurrent`);
    report.phases.todayParallel = await par(env, "today");

    // ---- 2. the SDK's own provider, attached: the engine calls Attach, which it does not implement
    log("\n== 2. stock @pulumi/pulumi dynamic provider, attached");
    provider = await startProvider(env, true);
    {
      const e = { ...env, PULUMI_DEBUG_PROVIDERS: `pulumi-nodejs:${provider.port}` };
      const r = await runCli(issueArgs, e);
      const line = `${r.stderr}\n${r.stdout}`.split("\n").find((l) => /attach/i.test(l)) ?? r.stderr.trim().split("\n").pop();
      log(`  issue exited ${r.code}: ${line?.trim()}`);
      report.phases.stock = { code: r.code, error: line?.trim(), leasesLeft: await leaseCount(env) };
      log(`  leases in the table afterwards: ${report.phases.stock.leasesLeft}`);
    }
    await provider.stop();
    provider = undefined;

    // ---- 3. one long-running provider (Attach answered), sequential
    log(`\n== 3. one long-running provider, attached (PULUMI_DEBUG_PROVIDERS=pulumi-nodejs:<port>)`);
    provider = await startProvider({ ...env, ATTACHED_PROVIDER_LOG_CONFIGURE: "" });
    log(`  provider up in ${secs(provider.startMs)} s (spawn to port), pid ${provider.child.pid}, port ${provider.port}, RSS ${rssMiB(provider.child.pid).toFixed(0)} MiB`);
    const attached = { ...env, PULUMI_DEBUG_PROVIDERS: `pulumi-nodejs:${provider.port}` };
    report.providerStartMs = provider.startMs;
    report.phases.attached = await seq(attached, "attached");
    log(`  leftover processes: ${JSON.stringify(ourProcesses(home, [provider.child.pid]))}`);

    // ---- 4. concurrency against the one provider
    log(`\n== 4. ${PARALLEL} concurrent issues against the one attached provider`);
    report.phases.attachedParallel = await par(attached, "attached");
    report.phases.attachedParallel.leftover = ourProcesses(home, [provider.child.pid]);
    log(`  leftover processes: ${JSON.stringify(report.phases.attachedParallel.leftover)}`);
    report.providerRssMiB = rssMiB(provider.child.pid);
    report.leasesLeft = await leaseCount(env);
    log(`  provider still alive: ${provider.child.exitCode === null}; RSS ${report.providerRssMiB.toFixed(0)} MiB; leases left in table ${report.leasesLeft}`);
    if (provider.stderr().trim()) log(`  provider stderr: ${provider.stderr().trim().slice(0, 2000)}`);

    // ---- 5. the provider dies: (a) while 4 runs wait for their Create answers (the IAM
    // users exist), (b) with nothing listening at the port
    if (!process.env.SKIP_CRASH) {
      await provider.stop();
      log("\n== 5. provider lifetime: killed while 4 issues wait for Create answers, then nothing listening");
      provider = await startProvider({ ...env, ATTACHED_PROVIDER_HOLD_CREATE_MS: "4000" });
      const crashEnv = { ...env, PULUMI_DEBUG_PROVIDERS: `pulumi-nodejs:${provider.port}` };
      const usersBefore = await iamUsers(moto);
      const runs = Array.from({ length: 4 }, () => runCli(issueArgs, crashEnv));
      const deadline = Date.now() + 60_000;
      while ((provider.stderr().match(/create answered/g) ?? []).length < 4 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
      const answered = (provider.stderr().match(/create answered/g) ?? []).length;
      provider.child.kill("SIGKILL");
      const results = await Promise.all(runs);
      const outcome = results.map((r) => (r.code === 0 ? "ok" : r.stderr.trim().split("\n").pop()));
      log(`  creates answered by the provider before SIGKILL: ${answered}; the 4 issues: ${JSON.stringify(outcome)}`);
      const r = await runCli(issueArgs, crashEnv);
      const gone = r.code === 0 ? "ok" : r.stderr.trim().split("\n").pop();
      log(`  issue with nothing listening: exit ${r.code} after ${secs(r.ms)} s: ${gone}`);
      const usersAfter = await iamUsers(moto);
      const left = await leaseCount(env);
      const orphans = usersAfter.filter((u) => !usersBefore.includes(u));
      log(`  leases in the table: ${left}; IAM users created and not in the table (orphans): ${orphans.length}; leftover processes: ${JSON.stringify(ourProcesses(home))}`);
      const sw = await runCli(["sweep", "--min-age", "0s", "--format", "json", "-q"], env, { sample: false });
      const usersSwept = await iamUsers(moto);
      log(`  awslease sweep --min-age 0s: exit ${sw.code}; IAM users left of the orphans: ${usersSwept.filter((u) => orphans.includes(u)).length}; ${sw.stdout.replace(/\s+/g, " ").slice(0, 400)}`);
      report.phases.crash = { answered, inFlight: outcome, nothingListening: gone, leasesLeft: left, orphans: orphans.length, orphansAfterSweep: usersSwept.filter((u) => orphans.includes(u)).length };
      provider = undefined;
    }

    const t = report.phases.today.issue;
    const a = report.phases.attached.issue;
    log(`\nissue p50: today ${secs(t.p50)} s, attached ${secs(a.p50)} s (saves ${secs(t.p50 - a.p50)} s, ${(100 * (1 - a.p50 / t.p50)).toFixed(0)}%)`);
    log(`revoke p50: today ${secs(report.phases.today.revoke.p50)} s, attached ${secs(report.phases.attached.revoke.p50)} s`);
    log(JSON.stringify(report));
  } finally {
    if (provider) await provider.stop();
    await moto.stop();
    rmSync(home, { recursive: true, force: true });
  }
}

main().catch((err) => {
  console.error(`experiment failed: ${err.stack ?? err.message}`);
  process.exitCode = 1;
});
