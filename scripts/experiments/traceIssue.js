// Experiment: where the time of one `awslease issue` goes, today and with an attached
// long-running provider. Runs the real CLI with AWSLEASE_PULUMI pointing at a wrapper
// that adds `--logtostderr -v=9` to every pulumi run and keeps its glog output, then
// prints the timeline of each run (ms since the CLI was spawned) at the engine's own
// milestones: process start, plugin launch/attach, Configure/Check/Create RPCs, exit.
//
//   bash scripts/with-tools.sh node scripts/experiments/traceIssue.js
//
// ROUNDS (default 3) issues per mode; the timeline of the median one is printed.
"use strict";
const { spawn, execFileSync } = require("node:child_process");
const { chmodSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } = require("node:fs");
const { tmpdir } = require("node:os");
const path = require("node:path");
const { randomBytes } = require("node:crypto");

const ROOT = process.env.AWSLEASE_ROOT ? path.resolve(process.env.AWSLEASE_ROOT) : path.resolve(__dirname, "../..");
const CLI = path.join(ROOT, "bin/awslease.js");
const { startMoto } = require(path.join(ROOT, "dist/scripts/localMoto.js"));
const ROUNDS = Number(process.env.ROUNDS ?? 3);

function runCli(args, env, stdin) {
  return new Promise((resolve, reject) => {
    const wall0 = Date.now();
    const t0 = process.hrtime.bigint();
    const child = spawn(process.execPath, [CLI, ...args], { env, stdio: ["pipe", "pipe", "pipe"] });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (d) => (stdout += d));
    child.stderr.on("data", (d) => (stderr += d));
    child.on("error", reject);
    child.on("close", (code) => {
      const ms = Number(process.hrtime.bigint() - t0) / 1e6;
      if (code !== 0) reject(new Error(`awslease ${args.join(" ")} exited ${code}: ${stderr.trim()}`));
      else resolve({ stdout, ms, wall0 });
    });
    child.stdin.end(stdin ?? "");
  });
}

function startProvider(env) {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [path.join(__dirname, "attachedProvider.js")], { env, stdio: ["ignore", "pipe", "inherit"] });
    let out = "";
    child.stdout.on("data", (d) => {
      out += d;
      if (out.includes("\n")) resolve({ child, port: Number(out.split("\n")[0]) });
    });
    child.on("exit", (c) => reject(new Error(`provider exited ${c}`)));
  });
}

/** One log line of `pulumi -v=9 --logtostderr` (3.259: JSON lines {time, level, msg}). */
function parseLine(line) {
  try {
    const j = JSON.parse(line);
    return j.time ? { t: Date.parse(j.time) + Number(`0.${(/\.(\d+)/.exec(j.time) ?? [, "0"])[1].slice(3)}`), msg: String(j.msg ?? "") } : undefined;
  } catch {
    return undefined;
  }
}

const MILESTONES = [
  ["pulumi started", /^CLI Metadata/],
  ["language host About() refused (inline program)", /langhost\[client\]\.About\(\) failed/],
  ["waited for language runtime metadata", /Could not retrieve language runtime metadata/],
  ["stack loaded and decrypted (passphrase KDF)", /^Loading stack tags/],
  ["update/destroy starts", /^\*\*\* Starting (Update|Destroy)/],
  ["inline program Run() sent to our process", /langhost\[client\]\.Run\(.*executing/],
  ["program registers the AwsLease", /^Registering resource: t=pulumi-nodejs/],
  ["provider process launched", /Launching plugin 'pulumi-nodejs/],
  ["provider answering (Handshake)", /^Handshake: not supported by/],
  ["provider attached (Attach RPC)", /\.Attach\(\) executing/],
  ["provider Configure", /\.Configure\(\) executing/],
  ["provider Create sent", /\.Create\(urn.*AwsLease.*executing/],
  ["provider Create answered", /\.Create\(urn.*AwsLease.*success/],
  ["provider Delete sent", /\.Delete\(urn.*AwsLease.*executing/],
  ["provider Delete answered", /\.Delete\(urn.*AwsLease.*success/],
  ["program exited", /^Program exited/],
  ["provider process killed", /^killing plugin .*pulumi-resource-pulumi-nodejs/],
  ["language host (pulumi-language-nodejs) launched", /Launching plugin 'nodejs'/],
  ["language host killed", /^killing plugin .*pulumi-language-nodejs/],
  ["update/destroy complete", /^\*\*\* (Update|Destroy).*complete/],
  ["last log line", null],
];

function timeline(logFile, cliStart) {
  const lines = readFileSync(logFile, "utf8").split("\n").map(parseLine).filter(Boolean);
  const out = [];
  for (const [name, re] of MILESTONES) {
    const hit = re ? lines.find((l) => re.test(l.msg)) : lines[lines.length - 1];
    if (hit) out.push([Math.round(hit.t - cliStart), name]);
  }
  return out.sort((a, b) => a[0] - b[0]);
}

/** TARGET=server: the same timelines for requests to `awslease server` (one per mode). */
async function traceServer(modes, wrapper, logs) {
  const { renameSync } = require("node:fs");
  const token = `hvs.${randomBytes(16).toString("hex")}`;
  for (const [mode, env] of Object.entries(modes)) {
    const dir = mkdtempSync(path.join(logs, `server-${mode}-`));
    const child = spawn(process.execPath, [CLI, "server", "--listen", "127.0.0.1:0", "--expiration-rescan", "1h", "--sweep-interval", "0"], {
      env: { ...env, AWSLEASE_PULUMI: wrapper, PULUMI_TRACE_DIR: dir, AWSLEASE_ROOT_TOKEN: token },
      stdio: ["ignore", "ignore", "pipe"],
    });
    let err = "";
    const addr = await new Promise((resolve, reject) => {
      child.stderr.on("data", (d) => {
        err += d;
        const m = /listening on (http:\/\/\S+)/.exec(err);
        if (m) resolve(m[1]);
      });
      child.on("exit", (c) => reject(new Error(`server exited ${c}: ${err}`)));
    });
    const call = async (method, p, body) => {
      const wall0 = Date.now();
      const t0 = process.hrtime.bigint();
      const res = await fetch(`${addr}/v1/${p}`, { method, headers: { "X-Vault-Token": token, "Content-Type": "application/json" }, body: body ? JSON.stringify(body) : undefined });
      const text = await res.text();
      if (!res.ok) throw new Error(`${method} ${p}: ${res.status} ${text}`);
      const ms = Number(process.hrtime.bigint() - t0) / 1e6;
      // This request's pulumi runs: the log files started while it ran.
      const own = mkdtempSync(path.join(logs, `server-${mode}-req-`));
      for (const f of readdirSync(dir)) {
        const started = Number(f.split("-")[0]) / 1e6;
        if (started >= wall0 && started <= wall0 + ms) renameSync(path.join(dir, f), path.join(own, f));
      }
      return { body: text ? JSON.parse(text) : undefined, ms, wall0, dir: own };
    };
    try {
      const warm = await call("GET", "aws/creds/exp");
      await call("PUT", "sys/leases/revoke", { lease_id: warm.body.lease_id });
      const runs = [];
      for (let i = 0; i < ROUNDS; i++) {
        const issued = await call("GET", "aws/creds/exp");
        const revoked = await call("PUT", "sys/leases/revoke", { lease_id: issued.body.lease_id });
        runs.push({ issued, revoked });
      }
      runs.sort((a, b) => a.issued.ms - b.issued.ms);
      const mid = runs[Math.floor(runs.length / 2)];
      for (const [label, r] of [["issue (GET creds)", mid.issued], ["revoke (sys/leases/revoke)", mid.revoked]]) {
        console.log(`\n== server, ${mode}: ${label} (median of ${ROUNDS}: ${(r.ms / 1000).toFixed(2)} s; ms since the request was sent)`);
        for (const f of readdirSync(r.dir).sort()) {
          console.log(`  pulumi ${f.replace(/^\d+-/, "").replace(/\.log$/, "")}:`);
          for (const [ms, name] of timeline(path.join(r.dir, f), r.wall0)) console.log(`    ${String(ms).padStart(6)}  ${name}`);
        }
        console.log(`    ${String(Math.round(r.ms)).padStart(6)}  response received`);
      }
    } finally {
      const exited = new Promise((r) => child.once("exit", r));
      child.kill("SIGTERM");
      await exited;
    }
  }
  console.log(`\nlog files kept in ${logs}`);
}

async function main() {
  const home = mkdtempSync(path.join(tmpdir(), "awslease-trace-"));
  const logs = mkdtempSync(path.join(tmpdir(), "awslease-trace-logs-"));
  const realPulumi = execFileSync("sh", ["-c", "readlink -f \"$(command -v pulumi)\""], { encoding: "utf8" }).trim();
  const wrapperDir = mkdtempSync(path.join(tmpdir(), "awslease-trace-bin-"));
  const wrapper = path.join(wrapperDir, "pulumi");
  // The run's kind (up/destroy/stack) in the name; glog output goes to the file.
  writeFileSync(wrapper, `#!/bin/sh\nexec "${realPulumi}" "$@" --logtostderr -v=9 2>>"$PULUMI_TRACE_DIR/$(date +%s%N)-$1.log"\n`);
  chmodSync(wrapper, 0o755);
  // The bundled plugins are found next to the real binary, or on PATH (the wrapper's dir goes first).
  for (const plugin of ["pulumi-resource-pulumi-nodejs", "pulumi-language-nodejs"]) {
    execFileSync("ln", ["-s", path.join(path.dirname(realPulumi), plugin), path.join(wrapperDir, plugin)]);
  }
  const moto = await startMoto();
  const base = { ...process.env, AWSLEASE_HOME: home, PULUMI_CONFIG_PASSPHRASE: randomBytes(16).toString("hex") };
  let provider;
  try {
    const { endpoint, region } = moto.info;
    await runCli(["config", "write", "--access-key", moto.info.accessKey, "--secret-key-stdin", "--region", region,
      "--iam-endpoint", endpoint, "--sts-endpoint", endpoint, "-q"], base, moto.info.secretKey);
    const policy = JSON.stringify({ Version: "2012-10-17", Statement: [{ Effect: "Allow", Action: "iam:ListUsers", Resource: "*" }] });
    await runCli(["role", "write", "exp", "--credential-type", "iam_user", "--policy-document", policy, "-q"], base);
    const warm = await runCli(["issue", "exp", "--no-wait", "--format", "json", "-q"], base);
    await runCli(["lease", "revoke", JSON.parse(warm.stdout).lease_id, "-q"], base);

    provider = await startProvider(base);
    const modes = {
      today: base,
      attached: { ...base, PULUMI_DEBUG_PROVIDERS: `pulumi-nodejs:${provider.port}` },
    };
    if (process.env.TARGET === "server") {
      await traceServer(modes, wrapper, logs);
      return;
    }
    for (const [mode, env] of Object.entries(modes)) {
      const runs = [];
      for (let i = 0; i < ROUNDS; i++) {
        const dir = mkdtempSync(path.join(logs, `${mode}-`));
        const e = { ...env, AWSLEASE_PULUMI: wrapper, PULUMI_TRACE_DIR: dir };
        const issued = await runCli(["issue", "exp", "--no-wait", "--format", "json", "-q"], e);
        const rdir = mkdtempSync(path.join(logs, `${mode}-revoke-`));
        const revoked = await runCli(["lease", "revoke", JSON.parse(issued.stdout).lease_id, "-q"], { ...e, PULUMI_TRACE_DIR: rdir });
        runs.push({ issued, dir, revoked, rdir });
      }
      runs.sort((a, b) => a.issued.ms - b.issued.ms);
      const mid = runs[Math.floor(runs.length / 2)];
      for (const [label, r, dir] of [["issue", mid.issued, mid.dir], ["lease revoke", mid.revoked, mid.rdir]]) {
        console.log(`\n== ${mode}: ${label} (median of ${ROUNDS}: ${(r.ms / 1000).toFixed(2)} s; ms since the CLI was spawned)`);
        for (const f of readdirSync(dir).sort()) {
          console.log(`  pulumi ${f.replace(/^\d+-/, "").replace(/\.log$/, "")}:`);
          for (const [ms, name] of timeline(path.join(dir, f), r.wall0)) console.log(`    ${String(ms).padStart(6)}  ${name}`);
        }
        console.log(`    ${String(Math.round(r.ms)).padStart(6)}  CLI exited`);
      }
    }
    console.log(`\nglog files kept in ${logs}`);
  } finally {
    if (provider) provider.child.kill("SIGTERM");
    await moto.stop();
    rmSync(home, { recursive: true, force: true });
    rmSync(wrapperDir, { recursive: true, force: true });
  }
}

main().catch((err) => {
  console.error(`experiment failed: ${err.stack ?? err.message}`);
  process.exitCode = 1;
});
