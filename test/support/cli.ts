// Runs the real `awslease` CLI (bin/awslease.js, built into dist/) as a child process,
// each "runner" with its own AWSLEASE_HOME, and helpers that look at moto directly.
import { spawn, type ChildProcess } from "node:child_process";
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { GetUserCommand, ListUsersCommand, ListUserTagsCommand } from "@aws-sdk/client-iam";
import { expect } from "vitest";
import { allowPolicy, clients, moto } from "./aws";

export const repoRoot = resolve(__dirname, "../..");
export const cliEntry = join(repoRoot, "bin", "awslease.js");
export const PASSPHRASE = "e2e-cli-passphrase";

/** Tags the provider puts on every IAM user it creates. */
import { TAG_EXPIRES_AT, TAG_LEASE_ID, TAG_MOUNT, TAG_ROLE, TAG_TABLE } from "../../provider/aws/iamUser";
import { motoConfigWriteArgs } from "../../scripts/localMoto";
export { TAG_EXPIRES_AT, TAG_LEASE_ID, TAG_MOUNT, TAG_ROLE, TAG_TABLE };

/** The id of the runner's lease table (`config read`): every user it issues carries it as TAG_TABLE. */
export async function tableId(runner: Runner): Promise<string> {
  const id = JSON.parse(await ok(runner.run(["config", "read", "--format", "json"]))).table_id;
  if (typeof id !== "string" || id.length < 16) throw new Error(`config read has no table_id: ${id}`);
  return id;
}

export interface CliResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

export interface RunOptions {
  /** Written to the child's stdin, which is then closed. */
  stdin?: string;
  /** Extra environment (wins over the runner's). */
  env?: Record<string, string | undefined>;
  /** Kill the process after this long (it then fails the test with its output). */
  timeoutMs?: number;
  /** Its own process group, so a test can SIGKILL the whole tree (`process.kill(-pid)`). */
  detached?: boolean;
}

export interface Runner {
  home: string;
  env: Record<string, string>;
  run(args: string[], opts?: RunOptions): Promise<CliResult>;
  /** The process itself, for tests that signal it; `result` settles when it exits. */
  start(args: string[], opts?: RunOptions): { child: ChildProcess; result: Promise<CliResult> };
  cleanup(): void;
}

function assertBuilt(): void {
  const main = join(repoRoot, "dist", "cli", "main.js");
  if (!existsSync(main)) throw new Error(`${main} is missing: build first (npm run build, or npm test which runs setup)`);
}

/** Environment of the test process without anything that would leak AWS or awslease settings into the CLI. */
function baseEnv(): Record<string, string> {
  const env: Record<string, string> = {};
  for (const [k, v] of Object.entries(process.env)) {
    if (v === undefined) continue;
    if (/^(AWS_|AWSLEASE_|PULUMI_CONFIG_PASSPHRASE|PULUMI_BACKEND_URL|GITHUB_ENV$|GITHUB_OUTPUT$)/.test(k)) continue;
    env[k] = v;
  }
  return env;
}

/**
 * A CLI "runner": its own AWSLEASE_HOME (so its own file backend unless `backend` is
 * given), the passphrase, and optionally a mount name (AWSLEASE_MOUNT).
 */
export function cliRunner(opts: { backend?: string; mount?: string; env?: Record<string, string> } = {}): Runner {
  assertBuilt();
  const home = mkdtempSync(join(tmpdir(), "awslease-cli-e2e-"));
  const env: Record<string, string> = {
    ...baseEnv(),
    AWSLEASE_HOME: home,
    PULUMI_CONFIG_PASSPHRASE: PASSPHRASE,
    ...(opts.backend ? { AWSLEASE_BACKEND: opts.backend } : {}),
    ...(opts.mount ? { AWSLEASE_MOUNT: opts.mount } : {}),
    ...(opts.env ?? {}),
  };
  const start = (args: string[], runOpts: RunOptions = {}) => {
    const childEnv: Record<string, string> = { ...env };
    for (const [k, v] of Object.entries(runOpts.env ?? {})) {
      if (v === undefined) delete childEnv[k];
      else childEnv[k] = v;
    }
    const child = spawn(process.execPath, [cliEntry, ...args], {
      cwd: repoRoot,
      env: childEnv,
      stdio: ["pipe", "pipe", "pipe"],
      detached: runOpts.detached ?? false,
    });
    let stdout = "";
    let stderr = "";
    child.stdout!.on("data", (d) => (stdout += String(d)));
    child.stderr!.on("data", (d) => (stderr += String(d)));
    child.stdin!.on("error", () => undefined);
    child.stdin!.end(runOpts.stdin ?? "");
    const result = new Promise<CliResult>((resolvePromise, reject) => {
      const timer = setTimeout(() => {
        child.kill("SIGKILL");
        reject(new Error(`awslease ${args.join(" ")} timed out\nstdout: ${stdout}\nstderr: ${stderr}`));
      }, runOpts.timeoutMs ?? 180_000);
      child.on("error", (err) => {
        clearTimeout(timer);
        reject(err);
      });
      child.on("close", (code, signal) => {
        clearTimeout(timer);
        resolvePromise({ code, signal, stdout, stderr });
      });
    });
    return { child, result };
  };
  return {
    home,
    env,
    start,
    run: (args, runOpts) => start(args, runOpts).result,
    cleanup: () => rmSync(home, { recursive: true, force: true }),
  };
}

/** Fails with the whole output when the command did not exit 0; returns stdout. */
export async function ok(result: Promise<CliResult> | CliResult): Promise<string> {
  const r = await result;
  if (r.code !== 0) throw new Error(`awslease exited ${r.code ?? r.signal}\nstdout: ${r.stdout}\nstderr: ${r.stderr}`);
  return r.stdout;
}

/**
 * `config write` for the moto of this run: the given keys (default the bootstrapped
 * root user's), secret from stdin, IAM and STS endpoints pointed at moto.
 */
export async function configureMount(runner: Runner, opts: { accessKey?: string; secretKey?: string; args?: string[] } = {}): Promise<CliResult> {
  return runner.run([...configWriteArgs(opts.accessKey), ...(opts.args ?? [])], { stdin: `${opts.secretKey ?? moto().secretKey}\n` });
}

/** `config write` for this run's moto (or another endpoint) with the given access key (default the root user's); the secret goes on stdin. */
export function configWriteArgs(accessKey = moto().accessKey, endpoint = moto().endpoint): string[] {
  return motoConfigWriteArgs({ accessKey, endpoint, region: moto().region });
}

/** An IAM policy document allowing exactly these actions. */
export { allowPolicy };

/** Root (admin) IAM and STS clients on moto. */
export function rootClients() {
  return clients();
}

/** IAM users on moto whose awslease tags match (all pages). */
export async function taggedUsers(filter: { mount?: string; role?: string; leaseId?: string; leasePrefix?: string }): Promise<string[]> {
  const iam = rootClients().iam;
  const names: string[] = [];
  let marker: string | undefined;
  do {
    const page = await iam.send(new ListUsersCommand({ Marker: marker }));
    for (const user of page.Users ?? []) names.push(user.UserName!);
    marker = page.IsTruncated ? page.Marker : undefined;
  } while (marker);
  const matching: string[] = [];
  for (const name of names) {
    const tags = await iam.send(new ListUserTagsCommand({ UserName: name })).catch(() => undefined);
    if (!tags) continue; // deleted meanwhile
    const t = Object.fromEntries((tags.Tags ?? []).map((x) => [x.Key, x.Value]));
    if (filter.mount !== undefined && t[TAG_MOUNT] !== filter.mount) continue;
    if (filter.role !== undefined && t[TAG_ROLE] !== filter.role) continue;
    if (filter.leaseId !== undefined && t[TAG_LEASE_ID] !== filter.leaseId) continue;
    if (filter.leasePrefix !== undefined && !String(t[TAG_LEASE_ID] ?? "").startsWith(filter.leasePrefix)) continue;
    if (!t[TAG_MOUNT]) continue; // not ours
    matching.push(name);
  }
  return matching;
}

/** Whether the IAM user exists on moto (NoSuchEntity: no; anything else is an error). */
export async function userExists(username: string): Promise<boolean> {
  try {
    await rootClients().iam.send(new GetUserCommand({ UserName: username }));
    return true;
  } catch (err) {
    if (/NoSuchEntity/.test((err as Error).name)) return false;
    throw err;
  }
}

/** Every regular file under dir whose content contains one of the needles: [file, needle]. */
export function filesContaining(dir: string, needles: string[]): Array<[string, string]> {
  const hits: Array<[string, string]> = [];
  const walk = (d: string) => {
    for (const entry of readdirSync(d)) {
      const p = join(d, entry);
      const st = statSync(p, { throwIfNoEntry: false });
      if (!st) continue;
      if (st.isDirectory()) walk(p);
      else if (st.isFile()) {
        const text = readFileSync(p).toString("latin1");
        for (const n of needles) if (n && text.includes(n)) hits.push([p, n]);
      }
    }
  };
  walk(dir);
  return hits;
}

/** Lease stacks of a mount in a runner's file backend (state files, not backups). */
export function leaseStackFiles(runner: Runner, mount = "aws"): string[] {
  const dir = join(runner.home, "state", ".pulumi", "stacks", "awslease");
  if (!existsSync(dir)) return [];
  const pattern = new RegExp(`^lease-${mount}-[A-Za-z0-9]+\\.json(\\.gz)?$`);
  return readdirSync(dir)
    .filter((f) => pattern.test(f))
    .sort();
}

/** Number of files under dir (to show a secret scan looked at something). */
export function countFiles(dir: string): number {
  let n = 0;
  const walk = (d: string) => {
    for (const entry of readdirSync(d)) {
      const p = join(d, entry);
      const st = statSync(p, { throwIfNoEntry: false });
      if (st?.isDirectory()) walk(p);
      else if (st?.isFile()) n++;
    }
  };
  walk(dir);
  return n;
}

/** The one error line a failed command prints. */
export function errorLines(stderr: string): string[] {
  return stderr.split("\n").filter((l) => l.trim() !== "");
}

/** A refused run: exit `code`, nothing on stdout, and one stderr line `awslease: error: ...` matching pattern. */
export function expectOneLineError(r: CliResult, code: number, pattern: RegExp): void {
  expect(r.code).toBe(code);
  expect(r.stdout).toBe("");
  const lines = errorLines(r.stderr);
  expect(lines).toHaveLength(1);
  expect(lines[0]).toMatch(/^awslease: error: /);
  expect(lines[0]).toMatch(pattern);
}

/** Provider and pulumi processes started by a runner (their environment names its home). */
export function engineProcessesOf(home: string): string[] {
  const found: string[] = [];
  for (const pid of readdirSync("/proc").filter((e) => /^\d+$/.test(e))) {
    try {
      const environ = readFileSync(`/proc/${pid}/environ`, "latin1");
      if (!environ.includes(home)) continue;
      const cmdline = readFileSync(`/proc/${pid}/cmdline`, "latin1").replace(/\0/g, " ");
      if (/dynamic-provider|\/pulumi |pulumi-resource|pulumi-language/.test(cmdline)) found.push(`${pid}: ${cmdline.slice(0, 120)}`);
    } catch {
      /* gone, or not ours to read */
    }
  }
  return found;
}

/** Every regular file below dir (none when it does not exist). */
export function filesUnder(dir: string): string[] {
  if (!existsSync(dir)) return [];
  const found: string[] = [];
  const walk = (d: string) => {
    for (const e of readdirSync(d)) {
      const p = join(d, e);
      const st = statSync(p, { throwIfNoEntry: false });
      if (st?.isDirectory()) walk(p);
      else if (st?.isFile()) found.push(p);
    }
  };
  walk(dir);
  return found;
}

/** Lock files of the runner's file backend (a stale one blocks its stack). */
export function lockFiles(runner: Runner): string[] {
  return filesUnder(join(runner.home, "state", ".pulumi", "locks")).filter((p) => p.endsWith(".json"));
}

/** Resolves when the process has exited (after a SIGKILL of its group). */
export function exited(child: ChildProcess): Promise<void> {
  return child.exitCode !== null || child.signalCode !== null ? Promise.resolve() : new Promise((r) => child.once("close", () => r()));
}

/** Files anywhere in a runner's file backend (stacks, backups, history, locks) whose path names this stack. */
export function backendFilesOf(runner: Runner, stackName: string): string[] {
  return filesUnder(join(runner.home, "state", ".pulumi")).filter((p) => p.includes(stackName));
}

/** `awslease server` started by a runner on a free loopback port; resolves once it listens. */
export async function startServer(runner: Runner, args: string[] = [], opts: RunOptions = {}) {
  const start = runner.start(["server", "--listen", "127.0.0.1:0", ...args], { timeoutMs: 900_000, ...opts });
  let stdout = "";
  let stderr = "";
  start.child.stdout!.on("data", (d) => (stdout += String(d)));
  start.child.stderr!.on("data", (d) => (stderr += String(d)));
  const deadline = Date.now() + 60_000;
  while (!/listening on (http:\/\/\S+)/.test(stderr)) {
    if (Date.now() > deadline || start.child.exitCode !== null) throw new Error(`server did not start\nstdout: ${stdout}\nstderr: ${stderr}`);
    await new Promise((r) => setTimeout(r, 100));
  }
  return { start, addr: /listening on (http:\/\/\S+)/.exec(stderr)![1], stdout: () => stdout, stderr: () => stderr };
}

/** The root token a server started by startServer printed once. */
export function rootTokenOf(server: { stdout: () => string }): string {
  return /Root token \(shown once; only its hash is stored\): (hvs\.\S+)/.exec(server.stdout())?.[1] ?? "";
}

/** A JSON call to a started server's Vault API (as the root token unless another is given) that must succeed. */
export function serverApi(server: { addr: string; stdout: () => string }) {
  const rootToken = rootTokenOf(server);
  return async <T = Record<string, any>>(method: string, path: string, body?: unknown, token = rootToken): Promise<T> => {
    const res = await fetch(`${server.addr}/v1/${path}`, {
      method,
      headers: { "X-Vault-Token": token, "Content-Type": "application/json" },
      body: body ? JSON.stringify(body) : undefined,
    });
    if (!res.ok) throw new Error(`${method} ${path}: ${res.status} ${await res.text()}`);
    return (await res.json().catch(() => ({}))) as T;
  };
}
