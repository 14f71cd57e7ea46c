// `npm run demo`: the main job end to end on the embedded default (a local moto server
// with IAM policy enforcement, a file backend in a temp dir), through the real CLI and
// the real Pulumi engine. Exits non-zero if anything does not behave as promised.
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { randomBytes } from "node:crypto";
import { IAMClient, ListUsersCommand, CreateUserCommand } from "@aws-sdk/client-iam";
import { motoConfigWriteArgs, startMoto } from "./localMoto";
import { runCli } from "./cliRunner";

const POLICY = JSON.stringify({
  Version: "2012-10-17",
  Statement: [{ Effect: "Allow", Action: ["iam:ListUsers", "sts:GetCallerIdentity"], Resource: "*" }],
});

function step(text: string) {
  process.stdout.write(`\n== ${text}\n`);
}

async function tryCall(label: string, fn: () => Promise<unknown>): Promise<string> {
  try {
    await fn();
    return "allowed";
  } catch (err) {
    return (err as { name?: string }).name ?? "error";
  } finally {
    void label;
  }
}

async function main() {
  const home = mkdtempSync(join(tmpdir(), "awslease-demo-"));
  step("starting a local moto server (IAM policies enforced)");
  const moto = await startMoto();
  const { endpoint, region } = moto.info;
  console.log(`moto at ${endpoint}; state backend file://${home}/state`);
  const env = {
    ...process.env,
    AWSLEASE_HOME: home,
    // A throwaway passphrase for this demo's throwaway state; it lives only in this environment.
    PULUMI_CONFIG_PASSPHRASE: randomBytes(16).toString("hex"),
  };
  const run = async (args: string[], stdin?: string) => {
    console.log(`$ awslease ${args.join(" ")}`);
    const res = await runCli(args, env, stdin);
    if (res.stderr.trim()) process.stdout.write(res.stderr.replace(/^/gm, "  "));
    if (res.code !== 0) throw new Error(`awslease ${args[0]} exited ${res.code}`);
    return res.stdout;
  };
  let failed = false;
  try {
    step("configure the mount with root credentials (secret read from stdin)");
    await run([...motoConfigWriteArgs(moto.info), "--lease", "1h", "--lease-max", "24h"], moto.info.secretKey);
    process.stdout.write((await run(["config", "read"])).replace(/^/gm, "  "));

    step("declare a role: iam_user, may list users and nothing else");
    await run(["role", "write", "deploy", "--credential-type", "iam_user", "--policy-document", POLICY]);

    step("issue a lease (a `pulumi up` of its own stack; waits until the key works)");
    const issued = JSON.parse(await run(["issue", "deploy", "--ttl", "15m", "--format", "json"]));
    console.log(`  lease_id=${issued.lease_id} expires_at=${issued.expires_at} access_key=${issued.data.access_key}`);
    const iam = new IAMClient({
      endpoint,
      region,
      maxAttempts: 1,
      credentials: { accessKeyId: issued.data.access_key, secretAccessKey: issued.data.secret_key },
    });
    const allowed = await tryCall("ListUsers", () => iam.send(new ListUsersCommand({})));
    const denied = await tryCall("CreateUser", () => iam.send(new CreateUserCommand({ UserName: "not-allowed" })));
    console.log(`  with the new key: iam:ListUsers -> ${allowed}, iam:CreateUser -> ${denied}`);
    if (allowed !== "allowed" || denied !== "AccessDenied") failed = true;

    step("list the lease table");
    process.stdout.write((await run(["lease", "list"])).replace(/^/gm, "  "));

    step("revoke the lease (a `pulumi destroy`: deletes the IAM user and its key)");
    await run(["lease", "revoke", issued.lease_id]);
    const afterRevoke = await tryCall("ListUsers", () => iam.send(new ListUsersCommand({})));
    console.log(`  with the revoked key: iam:ListUsers -> ${afterRevoke}`);
    if (afterRevoke !== "InvalidClientTokenId") failed = true;
    process.stdout.write((await run(["lease", "list"])).replace(/^/gm, "  "));
  } finally {
    await moto.stop();
    rmSync(home, { recursive: true, force: true });
  }
  step(failed ? "DEMO FAILED: a key did not behave as expected" : "demo ok: allowed, denied, then rejected after revoke");
  process.exitCode = failed ? 1 : 0;
}

main().catch((err) => {
  console.error(`demo failed: ${(err as Error).message}`);
  process.exitCode = 1;
});
