// Experiment: the same question inside `awslease server` (the long-running process the
// issue is about). Two servers on one backend, started at the same time:
//   A: as today (each engine run spawns its own dynamic-provider process);
//   B: with PULUMI_DEBUG_PROVIDERS=pulumi-nodejs:<port> in its environment, pointing at
//      one long-running provider (scripts/experiments/attachedProvider.js).
// No awslease code is changed: the server passes its environment to every pulumi run.
// Sequential issues alternate A, B, A, B ... (so load from anything else on the machine
// hits both alike); then PARALLEL concurrent issues against each, twice, alternating.
// Each issued key is checked (sts:GetCallerIdentity: works, and distinct IAM users),
// each lease revoked through the API (sys/leases/revoke) and checked to be rejected.
//
//   bash scripts/with-tools.sh node scripts/experiments/serverAttachBench.js
//   (AWSLEASE_ROOT=$(bash scripts/experiments/snapshot.sh) to run a frozen copy of dist/)
//
// Env: ROUNDS (sequential issues per server, default 10), PARALLEL (default 8).
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

const ROUNDS = Number(process.env.ROUNDS ?? 10);
const PARALLEL = Number(process.env.PARALLEL ?? 8);
const TICK_MS = 10; // USER_HZ 100

function statOf(pid) {
  try {
    const s = readFileSync(`/proc/${pid}/stat`, "utf8");
    const f = s.slice(s.lastIndexOf(")") + 2).split(" ");
    // fields after comm: state(0) ppid(1) ... utime(11) stime(12) cutime(13) cstime(14)
    return { utime: Number(f[11]), stime: Number(f[12]), cutime: Number(f[13]), cstime: Number(f[14]), cmd: readFileSync(`/proc/${pid}/cmdline`, "utf8").replace(/\0/g, " ") };
  } catch {
    return undefined;
  }
}

/**
 * CPU of a server while fn runs: its own, its reaped children's, and every descendant
 * seen alive (sampled every 4 ms), plus the attached provider's (not its child).
 */
async function withCpu(serverPid, extraPid, fn) {
  const self0 = statOf(serverPid);
  const extra0 = extraPid ? statOf(extraPid) : undefined;
  const kids = new Map();
  const kinds = new Map();
  const timer = setInterval(() => {
    for (const pid of descendantsOf(serverPid)) {
      const s = statOf(pid);
      if (!s) continue;
      kids.set(pid, s.utime + s.stime);
      if (!kinds.has(pid)) kinds.set(pid, s.cmd.includes("dynamic-provider") && !s.cmd.includes("require.resolve") ? "provider" : s.cmd.split(" ")[0].split("/").pop());
    }
  }, 4);
  const t0 = process.hrtime.bigint();
  try {
    const result = await fn();
    return { result, ms: Number(process.hrtime.bigint() - t0) / 1e6, kinds: [...kinds.values()], cpuMs: () => {
      const self1 = statOf(serverPid);
      const extra1 = extraPid ? statOf(extraPid) : undefined;
      // Reaped children's CPU lands in cutime/cstime of the server; live ones are in `kids`.
      // A child both sampled alive and then reaped is counted once: take the larger of the two views.
      const selfMs = (self1.utime + self1.stime - self0.utime - self0.stime) * TICK_MS;
      const reaped = (self1.cutime + self1.cstime - self0.cutime - self0.cstime) * TICK_MS;
      const sampled = [...kids.values()].reduce((a, b) => a + b, 0) * TICK_MS;
      const extra = extra0 && extra1 ? (extra1.utime + extra1.stime - extra0.utime - extra0.stime) * TICK_MS : 0;
      return { selfMs, childrenMs: Math.max(reaped, sampled), providerMs: extra, total: selfMs + Math.max(reaped, sampled) + extra };
    } };
  } finally {
    clearInterval(timer);
  }
}

function startServer(name, env) {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [CLI, "server", "--listen", "127.0.0.1:0", "--max-concurrent-issues", String(Math.max(PARALLEL, 2)), "--expiration-rescan", "1h", "--sweep-interval", "0"], { env, stdio: ["ignore", "pipe", "pipe"] });
    let err = "";
    child.stderr.on("data", (d) => {
      err += d;
      const m = /listening on (http:\/\/\S+)/.exec(err);
      if (m) resolve({ name, child, addr: m[1], stderr: () => err });
    });
    child.stdout.on("data", () => {});
    child.on("exit", (c) => reject(new Error(`server ${name} exited ${c}: ${err}`)));
  });
}

function startProvider(env) {
  return new Promise((resolve, reject) => {
    const t0 = Date.now();
    const child = spawn(process.execPath, [path.join(ROOT, "scripts/experiments/attachedProvider.js")], { env, stdio: ["ignore", "pipe", "pipe"] });
    let out = "";
    let err = "";
    child.stderr.on("data", (d) => (err += d));
    child.stdout.on("data", (d) => {
      out += d;
      if (out.includes("\n")) resolve({ child, port: Number(out.split("\n")[0]), startMs: Date.now() - t0, stderr: () => err });
    });
    child.on("exit", (c) => reject(new Error(`provider exited ${c}: ${err}`)));
  });
}

async function api(server, token, method, p, body) {
  const res = await fetch(`${server.addr}/v1/${p}`, {
    method,
    headers: { "X-Vault-Token": token, ...(body ? { "Content-Type": "application/json" } : {}) },
    body: body ? JSON.stringify(body) : undefined,
  });
  const text = await res.text();
  if (!res.ok) throw new Error(`${server.name} ${method} ${p}: ${res.status} ${text}`);
  return text ? JSON.parse(text) : undefined;
}

async function identity(moto, lease) {
  const sts = new STSClient({ endpoint: moto.info.endpoint, region: moto.info.region, maxAttempts: 1, credentials: { accessKeyId: lease.data.access_key, secretAccessKey: lease.data.secret_key } });
  try {
    return { ok: true, arn: (await sts.send(new GetCallerIdentityCommand({}))).Arn };
  } catch (err) {
    return { ok: false, error: err.name };
  } finally {
    sts.destroy();
  }
}

function pct(xs, p) {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))];
}
const secs = (ms) => (ms / 1000).toFixed(2);

function rssMiB(pid) {
  try {
    return Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, "utf8"))[1]) / 1024;
  } catch {
    return NaN;
  }
}

/** Peak RSS of the server tree (+ provider) while fn runs. */
async function withPeakRss(pids, fn) {
  let peak = 0;
  const timer = setInterval(() => {
    let total = 0;
    for (const root of pids) for (const pid of [root, ...descendantsOf(root)]) total += rssMiB(pid) || 0;
    peak = Math.max(peak, total);
  }, 20);
  try {
    return { result: await fn(), peakMiB: () => peak };
  } finally {
    clearInterval(timer);
  }
}

async function main() {
  const home = mkdtempSync(path.join(tmpdir(), "awslease-srvexp-"));
  const moto = await startMoto();
  const token = `hvs.${randomBytes(24).toString("base64").replace(/[^0-9A-Za-z]/g, "").slice(0, 32).padEnd(32, "x")}`;
  const env = { ...process.env, AWSLEASE_HOME: home, PULUMI_CONFIG_PASSPHRASE: randomBytes(16).toString("hex"), AWSLEASE_ROOT_TOKEN: token };
  const cli = (args, stdin) =>
    new Promise((resolve, reject) => {
      const c = spawn(process.execPath, [CLI, ...args], { env, stdio: ["pipe", "pipe", "pipe"] });
      let e = "";
      c.stderr.on("data", (d) => (e += d));
      c.stdout.on("data", () => {});
      c.on("close", (code) => (code === 0 ? resolve() : reject(new Error(`awslease ${args[0]}: ${e}`))));
      c.stdin.end(stdin ?? "");
    });
  const servers = [];
  let provider;
  const report = { rounds: ROUNDS, parallel: PARALLEL };
  try {
    const { endpoint, region } = moto.info;
    await cli(["config", "write", "--access-key", moto.info.accessKey, "--secret-key-stdin", "--region", region, "--iam-endpoint", endpoint, "--sts-endpoint", endpoint, "--lease", "1h", "--lease-max", "24h", "-q"], moto.info.secretKey);
    const policy = JSON.stringify({ Version: "2012-10-17", Statement: [{ Effect: "Allow", Action: ["iam:ListUsers", "sts:GetCallerIdentity"], Resource: "*" }] });
    await cli(["role", "write", "exp", "--credential-type", "iam_user", "--policy-document", policy, "-q"]);

    provider = await startProvider(env);
    console.log(`attached provider: pid ${provider.child.pid}, port ${provider.port}, up in ${provider.startMs} ms, RSS ${rssMiB(provider.child.pid).toFixed(0)} MiB`);
    const A = await startServer("today", env);
    const B = await startServer("attached", { ...env, PULUMI_DEBUG_PROVIDERS: `pulumi-nodejs:${provider.port}` });
    servers.push(A, B);
    const extraOf = (s) => (s === B ? provider.child.pid : undefined);

    const issueOne = (s) => withCpu(s.child.pid, extraOf(s), () => api(s, token, "GET", "aws/creds/exp"));
    const revokeOne = (s, lease) => withCpu(s.child.pid, extraOf(s), () => api(s, token, "PUT", "sys/leases/revoke", { lease_id: lease.lease_id }));

    // Warm-up: the first request of a server loads the Automation API and serializes the provider.
    for (const s of servers) {
      const first = await issueOne(s);
      console.log(`${s.name}: first issue ${secs(first.ms)} s (cold: loads @pulumi/pulumi, serializes the provider)`);
      await revokeOne(s, first.result);
    }

    // ---- sequential, alternating
    const seq = { today: { issue: [], revoke: [], cpu: [], rcpu: [], leases: [] }, attached: { issue: [], revoke: [], cpu: [], rcpu: [], leases: [] } };
    const spawnedProviders = { today: 0, attached: 0 };
    for (let i = 0; i < ROUNDS; i++) {
      for (const s of i % 2 ? [B, A] : [A, B]) {
        const r = await issueOne(s);
        seq[s.name].issue.push(r.ms);
        seq[s.name].cpu.push(r.cpuMs().total);
        seq[s.name].leases.push(r.result);
        spawnedProviders[s.name] += r.kinds.filter((k) => k === "provider").length;
      }
    }
    for (const s of servers) {
      const ids = await Promise.all(seq[s.name].leases.map((l) => identity(moto, l)));
      seq[s.name].check = { keysWork: ids.every((i) => i.ok), distinctUsers: new Set(ids.map((i) => i.arn)).size, n: ids.length };
    }
    for (let i = 0; i < ROUNDS; i++) {
      for (const s of i % 2 ? [B, A] : [A, B]) {
        const r = await revokeOne(s, seq[s.name].leases[i]);
        seq[s.name].revoke.push(r.ms);
        seq[s.name].rcpu.push(r.cpuMs().total);
      }
    }
    for (const s of servers) {
      const ids = await Promise.all(seq[s.name].leases.map((l) => identity(moto, l)));
      seq[s.name].check.allRevokedRejected = ids.every((i) => !i.ok);
    }
    console.log(`\n== sequential, ${ROUNDS} per server, alternating (wall p50/p90; CPU of the whole tree per request, p50)`);
    report.sequential = {};
    for (const s of servers) {
      const q = seq[s.name];
      report.sequential[s.name] = {
        issueP50: pct(q.issue, 50), issueP90: pct(q.issue, 90), issueCpuP50: pct(q.cpu, 50),
        revokeP50: pct(q.revoke, 50), revokeP90: pct(q.revoke, 90), revokeCpuP50: pct(q.rcpu, 50),
        providerProcessesSpawned: spawnedProviders[s.name], check: q.check,
      };
      console.log(`${s.name.padEnd(9)} issue p50 ${secs(pct(q.issue, 50))} s p90 ${secs(pct(q.issue, 90))} s, CPU ${secs(pct(q.cpu, 50))} s | revoke p50 ${secs(pct(q.revoke, 50))} s p90 ${secs(pct(q.revoke, 90))} s, CPU ${secs(pct(q.rcpu, 50))} s | provider processes spawned ${spawnedProviders[s.name]} | ${JSON.stringify(q.check)}`);
    }

    // ---- concurrent
    console.log(`\n== ${PARALLEL} concurrent issues, then ${PARALLEL} concurrent revokes, per server (x2, alternating)`);
    report.concurrent = { today: [], attached: [] };
    for (const s of [A, B, B, A]) {
      const pids = s === B ? [s.child.pid, provider.child.pid] : [s.child.pid];
      const run = await withPeakRss(pids, () =>
        withCpu(s.child.pid, extraOf(s), async () => {
          const t = Date.now();
          const settled = await Promise.allSettled(Array.from({ length: PARALLEL }, async () => {
            const t0 = Date.now();
            const lease = await api(s, token, "GET", "aws/creds/exp");
            return { lease, ms: Date.now() - t0 };
          }));
          return { settled, wall: Date.now() - t };
        }),
      );
      const { settled, wall } = run.result.result;
      const cpu = run.result.cpuMs();
      const ok = settled.filter((x) => x.status === "fulfilled").map((x) => x.value);
      const failed = settled.filter((x) => x.status === "rejected").map((x) => String(x.reason.message).slice(0, 300));
      const ids = await Promise.all(ok.map((o) => identity(moto, o.lease)));
      const t1 = Date.now();
      const revs = await Promise.allSettled(ok.map((o) => api(s, token, "PUT", "sys/leases/revoke", { lease_id: o.lease.lease_id })));
      const revokeWall = Date.now() - t1;
      const ids2 = await Promise.all(ok.map((o) => identity(moto, o.lease)));
      const entry = {
        wall, p50: pct(ok.map((o) => o.ms), 50), max: Math.max(...ok.map((o) => o.ms)), cpuMs: cpu.total, peakRssMiB: run.peakMiB(),
        failed, keysWork: ids.every((i) => i.ok), distinctUsers: new Set(ids.map((i) => i.arn)).size,
        revokeWall, revokeFailed: revs.filter((r) => r.status === "rejected").map((r) => String(r.reason.message).slice(0, 300)), allRevokedRejected: ids2.every((i) => !i.ok),
      };
      report.concurrent[s.name].push(entry);
      console.log(`${s.name.padEnd(9)} issue x${PARALLEL}: wall ${secs(wall)} s (per request p50 ${secs(entry.p50)} s, max ${secs(entry.max)} s), CPU ${secs(cpu.total)} s, peak RSS ${entry.peakRssMiB.toFixed(0)} MiB, failures ${failed.length}, keys work ${entry.keysWork}, distinct users ${entry.distinctUsers}; revoke x${ok.length}: wall ${secs(revokeWall)} s, failures ${entry.revokeFailed.length}, all rejected after ${entry.allRevokedRejected}`);
      if (failed.length) console.log(`  ${failed.join("\n  ")}`);
    }

    // ---- optional soak: SOAK issues + revokes through the attached server, PARALLEL at a time
    const soak = Number(process.env.SOAK ?? 0);
    if (soak > 0) {
      const rss = [rssMiB(provider.child.pid)];
      let failures = 0;
      const users = new Set();
      for (let done = 0; done < soak; done += PARALLEL) {
        const batch = await Promise.allSettled(Array.from({ length: Math.min(PARALLEL, soak - done) }, () => api(B, token, "GET", "aws/creds/exp")));
        const ok = batch.filter((x) => x.status === "fulfilled").map((x) => x.value);
        failures += batch.length - ok.length;
        for (const l of ok) users.add(l.data.access_key);
        const revs = await Promise.allSettled(ok.map((l) => api(B, token, "PUT", "sys/leases/revoke", { lease_id: l.lease_id })));
        failures += revs.filter((r) => r.status === "rejected").length;
        rss.push(rssMiB(provider.child.pid));
      }
      report.soak = { issues: soak, failures, distinctKeys: users.size, providerRssMiB: rss.map((x) => Math.round(x)) };
      console.log(`\nsoak: ${soak} issues + revokes through the attached server: failures ${failures}, distinct keys ${users.size}, provider RSS (MiB) per batch: ${report.soak.providerRssMiB.join(" ")}`);
    }

    // ---- leftovers
    const leftovers = [];
    for (const s of servers) for (const pid of descendantsOf(s.child.pid)) leftovers.push({ server: s.name, pid, cmd: statOf(pid)?.cmd });
    report.leftoverProcesses = leftovers;
    report.providerRssMiB = rssMiB(provider.child.pid);
    report.providerStderr = provider.stderr().slice(0, 2000);
    console.log(`\nprocesses left under the servers: ${JSON.stringify(leftovers)}`);
    console.log(`attached provider alive: ${provider.child.exitCode === null}, RSS ${report.providerRssMiB.toFixed(0)} MiB, stderr: ${JSON.stringify(report.providerStderr)}`);
    console.log(JSON.stringify(report));
  } finally {
    for (const s of servers) {
      if (s.child.exitCode === null) {
        const exited = new Promise((r) => s.child.once("exit", r));
        s.child.kill("SIGTERM");
        await exited;
      }
    }
    if (provider && provider.child.exitCode === null) provider.child.kill("SIGTERM");
    await moto.stop();
    rmSync(home, { recursive: true, force: true });
  }
}

main().catch((err) => {
  console.error(`experiment failed: ${err.stack ?? err.message}`);
  process.exitCode = 1;
});
