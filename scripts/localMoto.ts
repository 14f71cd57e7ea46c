// Starts a real moto server on a free loopback port with IAM policy enforcement and
// bootstraps an admin ("root") user whose keys sign every later call. Used by the
// tests (vitest globalSetup), the demo and the benchmark; the caller stops it.
import { spawn, execFileSync, type ChildProcess } from "node:child_process";
import { createServer } from "node:net";
import { existsSync } from "node:fs";
import { resolve } from "node:path";

export interface MotoInfo {
  endpoint: string;
  region: string;
  accessKey: string;
  secretKey: string;
  accountId: string;
}

/** `awslease config write` for this moto (or another endpoint in front of it), with the secret key on stdin. */
export function motoConfigWriteArgs(info: Pick<MotoInfo, "accessKey" | "region" | "endpoint">): string[] {
  return [
    "config",
    "write",
    "--access-key",
    info.accessKey,
    "--secret-key-stdin",
    "--region",
    info.region,
    "--iam-endpoint",
    info.endpoint,
    "--sts-endpoint",
    info.endpoint,
  ];
}

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.on("error", reject);
    srv.listen(0, "127.0.0.1", () => {
      const addr = srv.address();
      const port = typeof addr === "object" && addr ? addr.port : 0;
      srv.close(() => resolve(port));
    });
  });
}

function motoCommand(): string {
  try {
    execFileSync("python3", ["-c", "import moto.server, flask"], { stdio: "ignore" });
  } catch {
    throw new Error("moto server is not installed: run `npm run setup` (it runs pip install 'moto[server]')");
  }
  return "python3";
}

/** scripts/moto_server.py (moto plus IAM date conditions), from source or from dist/. */
function launcherPath(): string {
  const here = resolve(__dirname, "moto_server.py");
  return existsSync(here) ? here : resolve(__dirname, "../../scripts/moto_server.py");
}

/** Number of unauthenticated calls the bootstrap makes before enforcement starts. */
const BOOTSTRAP_CALLS = 3;

export async function startMoto(): Promise<{ info: MotoInfo; stop: () => Promise<void> }> {
  const python = motoCommand();
  const port = await freePort();
  // IAM policies are evaluated for every call after the bootstrap of the "root" user.
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    MOTO_IAM_LOAD_MANAGED_POLICIES: "true",
    INITIAL_NO_AUTH_ACTION_COUNT: String(BOOTSTRAP_CALLS),
  };
  const child: ChildProcess = spawn(python, [launcherPath(), "-H", "127.0.0.1", "-p", String(port)], {
    env,
    stdio: ["ignore", "ignore", "pipe"],
    detached: false,
  });
  // Never leave the server behind, even if the caller dies without calling stop().
  const killOnExit = () => child.kill("SIGKILL");
  process.once("exit", killOnExit);
  let stderr = "";
  child.stderr?.on("data", (d) => {
    stderr = (stderr + String(d)).slice(-4000);
  });
  const endpoint = `http://127.0.0.1:${port}`;
  const deadline = Date.now() + 30_000;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`moto server exited (${child.exitCode}): ${stderr.trim()}`);
    try {
      const res = await fetch(`${endpoint}/moto-api/data.json`);
      if (res.ok) break;
    } catch {
      /* not up yet */
    }
    if (Date.now() > deadline) {
      child.kill("SIGKILL");
      throw new Error(`moto server did not start on ${endpoint}: ${stderr.trim()}`);
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  const region = "us-east-1";
  const stop = async () => {
    process.off("exit", killOnExit);
    if (child.exitCode !== null) return;
    const exited = new Promise<void>((r) => child.once("exit", () => r()));
    child.kill("SIGTERM");
    const timer = setTimeout(() => child.kill("SIGKILL"), 5000);
    await exited;
    clearTimeout(timer);
  };
  const { IAMClient, CreateUserCommand, AttachUserPolicyCommand, CreateAccessKeyCommand } = await import("@aws-sdk/client-iam");
  const bootstrap = new IAMClient({
    endpoint,
    region,
    credentials: { accessKeyId: "bootstrap", secretAccessKey: "bootstrap" },
  });
  await bootstrap.send(new CreateUserCommand({ UserName: "root" }));
  await bootstrap.send(new AttachUserPolicyCommand({ UserName: "root", PolicyArn: "arn:aws:iam::aws:policy/AdministratorAccess" }));
  const key = await bootstrap.send(new CreateAccessKeyCommand({ UserName: "root" }));
  bootstrap.destroy();
  const info: MotoInfo = {
    endpoint,
    region,
    accessKey: key.AccessKey!.AccessKeyId!,
    secretKey: key.AccessKey!.SecretAccessKey!,
    accountId: "123456789012",
  };
  return { info, stop };
}
