// Experiment: what an attached provider cannot get. A revoke passes the mount's current
// root settings to the provider through its process environment
// (AWSLEASE_MOUNT_SETTINGS, set per run by service/pulumi/pulumiEngine.ts
// settingsEnv -> provider/lease.ts effectiveEngine): after `config rotate-root` the root
// key stored in a lease's state no longer exists. An attached provider was started
// once, with its own environment, so it never sees the per-run variable.
//
//   bash scripts/with-tools.sh node scripts/experiments/rotateRootCheck.js
//
// Issues two leases, rotates the root key, then revokes one with a spawned provider
// (as today) and one through an attached provider; prints both outcomes.
"use strict";
const path = require("node:path");
const { spawn } = require("node:child_process");
const { mkdtempSync, rmSync } = require("node:fs");
const { tmpdir } = require("node:os");
const { randomBytes } = require("node:crypto");

const ROOT = process.env.AWSLEASE_ROOT ? path.resolve(process.env.AWSLEASE_ROOT) : path.resolve(__dirname, "../..");
const CLI = path.join(ROOT, "bin/awslease.js");
const { startMoto } = require(path.join(ROOT, "dist/scripts/localMoto.js"));

const run = (args, env, stdin) =>
  new Promise((resolve) => {
    const c = spawn(process.execPath, [CLI, ...args], { env });
    let stdout = "";
    let stderr = "";
    c.stdout.on("data", (d) => (stdout += d));
    c.stderr.on("data", (d) => (stderr += d));
    c.on("close", (code) => resolve({ code, stdout, stderr }));
    c.stdin.end(stdin ?? "");
  });
const last = (r) => r.stderr.trim().split("\n").pop();

async function main() {
  const home = mkdtempSync(path.join(tmpdir(), "awslease-rotate-"));
  const moto = await startMoto();
  const env = { ...process.env, AWSLEASE_HOME: home, PULUMI_CONFIG_PASSPHRASE: randomBytes(16).toString("hex") };
  let provider;
  try {
    const { endpoint, region } = moto.info;
    await run(["config", "write", "--access-key", moto.info.accessKey, "--secret-key-stdin", "--region", region, "--iam-endpoint", endpoint, "--sts-endpoint", endpoint, "-q"], env, moto.info.secretKey);
    const policy = JSON.stringify({ Version: "2012-10-17", Statement: [{ Effect: "Allow", Action: "iam:ListUsers", Resource: "*" }] });
    await run(["role", "write", "exp", "--credential-type", "iam_user", "--policy-document", policy, "-q"], env);
    provider = spawn(process.execPath, [path.join(ROOT, "scripts/experiments/attachedProvider.js")], { env, stdio: ["ignore", "pipe", "pipe"] });
    let providerErr = "";
    provider.stderr.on("data", (d) => (providerErr += d));
    const port = await new Promise((r) => provider.stdout.once("data", (d) => r(Number(String(d).split("\n")[0]))));
    const attached = { ...env, PULUMI_DEBUG_PROVIDERS: `pulumi-nodejs:${port}` };

    const a = JSON.parse((await run(["issue", "exp", "--no-wait", "--format", "json", "-q"], attached)).stdout);
    const b = JSON.parse((await run(["issue", "exp", "--no-wait", "--format", "json", "-q"], attached)).stdout);
    const rot = await run(["config", "rotate-root", "-q"], env);
    console.log(`config rotate-root: exit ${rot.code} ${rot.code ? last(rot) : ""}`);

    const viaAttached = await run(["lease", "revoke", a.lease_id, "-q"], attached);
    console.log(`revoke after rotate-root, attached provider: exit ${viaAttached.code} ${viaAttached.code ? last(viaAttached) : "ok"}`);
    const viaSpawned = await run(["lease", "revoke", b.lease_id, "-q"], env);
    console.log(`revoke after rotate-root, spawned provider (today): exit ${viaSpawned.code} ${viaSpawned.code ? last(viaSpawned) : "ok"}`);
    if (viaAttached.code) {
      const retry = await run(["lease", "revoke", a.lease_id, "--break-lock", "-q"], env);
      console.log(`the same lease again with a spawned provider: exit ${retry.code} ${retry.code ? last(retry) : "ok"}`);
    }
    if (providerErr.trim()) console.log(`attached provider stderr: ${providerErr.trim().slice(0, 600)}`);
  } finally {
    if (provider) provider.kill("SIGTERM");
    await moto.stop();
    rmSync(home, { recursive: true, force: true });
  }
}

main().catch((err) => {
  console.error(`experiment failed: ${err.stack ?? err.message}`);
  process.exitCode = 1;
});
