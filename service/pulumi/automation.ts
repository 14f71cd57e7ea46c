// The Automation API plumbing: the offline engine environment, throwaway workspaces,
// and the few `pulumi` runs pulumiEngine.ts is made of. Every operation spawns as few
// `pulumi` processes as it can.
import { existsSync, mkdtempSync, mkdirSync, realpathSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { execFile, execFileSync } from "node:child_process";
import type * as automationTypes from "@pulumi/pulumi/automation";
import { ValidationError } from "../../provider/errors";
import { engineSignal } from "./interrupts";
import { leanUp, pulumiCommandWithoutVersionRun } from "./engineShortcuts";
import type { WarmProvider } from "./warmProvider";

/** The Pulumi project all awslease stacks belong to. */
export const PROJECT = "awslease";

/** The awslease package root: the engine runs the provider here so it resolves itself. */
export const PACKAGE_ROOT = resolve(__dirname, "../../..");

let programDir = PACKAGE_ROOT;

/**
 * The Pulumi project's `main`, where the engine starts the dynamic provider: it must
 * resolve `@pulumi/pulumi/cmd/dynamic-provider` and `awslease/provider-runtime`. The
 * package root, except in the GitHub Action's bundle, which has no node_modules and
 * makes a directory that resolves both to itself (action/programRoot.ts).
 */
export function programRoot(): string {
  return programDir;
}

export function setProgramRoot(dir: string): void {
  programDir = dir;
}

/** Where the engine keeps state and how it reports: what every engine run needs. */
export interface EngineLocation {
  home: string;
  backend: string;
  secretsProvider?: string;
  /** Progress lines (stderr in the CLI, nothing when quiet). */
  progress: (line: string) => void;
  /** Engine output goes to stderr too. */
  debug: boolean;
  /** The engine's current step (e.g. "creating AwsLease"), for a spinner; never printed as a line. */
  status?: (step: string) => void;
  /** The server's long-running provider process, which its runs attach to (warmProvider.ts). */
  warmProvider?: WarmProvider;
}

/** Can the lease table's secrets be read: a secrets provider, or a passphrase (or its file)? */
export function secretsConfigured(ctx: Pick<EngineLocation, "secretsProvider">, env: NodeJS.ProcessEnv = process.env): boolean {
  return !!ctx.secretsProvider || env.PULUMI_CONFIG_PASSPHRASE !== undefined || !!env.PULUMI_CONFIG_PASSPHRASE_FILE;
}

/** Environment for every engine run: offline, private PULUMI_HOME, the chosen backend. */
export function engineEnv(ctx: EngineLocation, env: NodeJS.ProcessEnv = process.env): Record<string, string> {
  if (!secretsConfigured(ctx, env)) {
    throw new ValidationError([
      {
        field: "secrets",
        reason: "set PULUMI_CONFIG_PASSPHRASE or PULUMI_CONFIG_PASSPHRASE_FILE (it encrypts the secrets in the lease table), or pass --secrets-provider",
      },
    ]);
  }
  const vars: Record<string, string> = {
    PULUMI_BACKEND_URL: ctx.backend,
    PULUMI_HOME: env.AWSLEASE_PULUMI_HOME ?? join(ctx.home, "pulumi"),
    PULUMI_SKIP_UPDATE_CHECK: "true",
    PULUMI_DISABLE_AUTOMATIC_PLUGIN_ACQUISITION: "true",
    PULUMI_SKIP_CONFIRMATIONS: "true",
    // No copy of every checkpoint under .pulumi/backups: the history keeps one per
    // update already, and a lease's stack is removed with its history at revoke.
    PULUMI_DIY_BACKEND_DISABLE_CHECKPOINT_BACKUPS: "true",
  };
  // The provider's node process reuses the CLI's V8 compile cache (faster start).
  const compileCache = (require("node:module") as { getCompileCacheDir?: () => string | undefined }).getCompileCacheDir?.();
  if (compileCache && !env.NODE_COMPILE_CACHE) vars.NODE_COMPILE_CACHE = compileCache;
  // Providers exit when their pulumi process is killed (see providerWatchdog.ts).
  const watchdog = `--require ${JSON.stringify(join(__dirname, "providerWatchdog.js"))}`;
  vars.NODE_OPTIONS = env.NODE_OPTIONS ? `${env.NODE_OPTIONS} ${watchdog}` : watchdog;
  return { ...vars, ...ctx.warmProvider?.env() };
}

/**
 * How to get pulumi: a checkout of this repository builds it with `npm run setup`; an
 * installed package (npm install -g) needs Pulumi's own install.
 */
export function pulumiInstallHint(root = PACKAGE_ROOT): string {
  if (existsSync(join(root, "scripts", "setup.sh"))) return `run \`npm run setup\` in ${root} (or set AWSLEASE_PULUMI)`;
  return "install it (curl -fsSL https://get.pulumi.com | sh, or see https://www.pulumi.com/docs/install/) and put it on PATH, or set AWSLEASE_PULUMI to its path";
}

let resolvedPulumi: string | undefined;

/** The pulumi binary: $AWSLEASE_PULUMI, else the one on PATH (real path, so its bundled plugins are found). */
export function pulumiBinary(env: NodeJS.ProcessEnv = process.env): string {
  if (resolvedPulumi === undefined) {
    let bin = env.AWSLEASE_PULUMI;
    if (!bin) {
      try {
        bin = execFileSync("which", ["pulumi"], { encoding: "utf8" }).trim();
      } catch {
        throw new Error(`the pulumi CLI was not found on PATH: ${pulumiInstallHint()}`);
      }
    }
    resolvedPulumi = realpathSync(bin);
  }
  return resolvedPulumi;
}

/** A throwaway work dir and the engine environment for one command's pulumi runs. */
export interface Workspace {
  workDir: string;
  env: Record<string, string>;
  /** Only for inline programs (issue, renew, config/role writes). */
  automation?: automationTypes.LocalWorkspace;
}

/**
 * Runs fn with a throwaway work dir: nothing renew/revoke/list needs lives in it. The
 * Automation API (and with it @pulumi/pulumi, ~0.5 s and ~100 MB to load) is loaded
 * only when there is an inline program to run.
 */
export async function withWorkspace<T>(ctx: EngineLocation, program: automationTypes.PulumiFn | undefined, fn: (ws: Workspace) => Promise<T>): Promise<T> {
  mkdirSync(ctx.home, { recursive: true, mode: 0o700 });
  if (ctx.backend.startsWith("file://")) mkdirSync(ctx.backend.slice("file://".length), { recursive: true, mode: 0o700 });
  const workDir = mkdtempSync(join(tmpdir(), "awslease-"));
  const env = engineEnv(ctx);
  try {
    let automation: automationTypes.LocalWorkspace | undefined;
    if (program) {
      const { LocalWorkspace } = require("@pulumi/pulumi/automation") as typeof automationTypes;
      automation = await LocalWorkspace.create({
        workDir,
        program,
        pulumiCommand: pulumiCommandWithoutVersionRun(pulumiBinary()),
        envVars: env,
        secretsProvider: ctx.secretsProvider,
        projectSettings: { name: PROJECT, runtime: "nodejs", main: programRoot() },
      });
    } else {
      writeFileSync(join(workDir, "Pulumi.yaml"), `name: ${PROJECT}\nruntime: nodejs\nmain: ${JSON.stringify(programRoot())}\n`);
    }
    return await fn({ workDir, env, automation });
  } finally {
    rmSync(workDir, { recursive: true, force: true });
  }
}

/** `Pulumi.<stack>.yaml` in the workspace (the project's per-stack settings). */
export function writeStackSettings(ws: Workspace, stackName: string, settings: { encryptionsalt: string }): void {
  writeFileSync(join(ws.workDir, `Pulumi.${stackName}.yaml`), `encryptionsalt: ${JSON.stringify(settings.encryptionsalt)}\n`, { mode: 0o600 });
}

export interface CommandResult {
  stdout: string;
  stderr: string;
  code: number;
}

/** A failed pulumi run; commandResult has its output (as the Automation API's CommandError). */
export class PulumiRunError extends Error {
  constructor(
    readonly args: string[],
    readonly commandResult: CommandResult,
  ) {
    super(`pulumi ${args[0]} ${args[1] ?? ""} exited ${commandResult.code}: ${commandResult.stderr.trim()}`);
    this.name = "PulumiRunError";
  }
}

/**
 * Runs one pulumi command in the workspace, with the engine environment. An interrupt
 * cancels it with SIGINT (pulumi's graceful cancel) unless it is a cleanup run.
 */
export function runPulumi(ws: Workspace, args: string[], extraEnv: Record<string, string> = {}, opts: { cleanup?: boolean } = {}): Promise<CommandResult> {
  const bin = pulumiBinary();
  const fullArgs = [...args, "--non-interactive"];
  return new Promise((resolvePromise, reject) => {
    execFile(
      bin,
      fullArgs,
      {
        cwd: ws.workDir,
        env: { ...process.env, ...ws.env, ...extraEnv, PATH: `${dirname(bin)}:${process.env.PATH ?? ""}` },
        maxBuffer: 64 * 1024 * 1024,
        signal: opts.cleanup ? undefined : engineSignal,
        killSignal: "SIGINT",
      },
      (err, stdout, stderr) => {
        const code = err ? (typeof (err as { code?: unknown }).code === "number" ? (err as { code: number }).code : 1) : 0;
        const result = { stdout: String(stdout), stderr: String(stderr), code };
        if (err) reject(new PulumiRunError(args, result));
        else resolvePromise(result);
      },
    );
  });
}

/** Stack outputs as plain values (secrets decrypted), or undefined when the stack does not exist. */
export async function readOutputs(ws: Workspace, stackName: string, opts: { secrets: boolean }): Promise<Record<string, unknown> | undefined> {
  try {
    const args = ["stack", "output", "--json", "--stack", stackName];
    if (opts.secrets) args.push("--show-secrets");
    const res = await runPulumi(ws, args);
    return JSON.parse(res.stdout || "{}");
  } catch (err) {
    if (isNoSuchStack(err)) return undefined;
    throw err;
  }
}

export function isNoSuchStack(err: unknown): boolean {
  const result = (err as { commandResult?: CommandResult }).commandResult;
  const text = `${(err as Error)?.message ?? ""}\n${result?.stderr ?? ""}`;
  return /no stack named|stack .* not found|could not find stack/i.test(text);
}

export interface StackSummary {
  name: string;
  /** When the stack's state was last written (its creation, for a stack never updated). */
  lastUpdate?: string;
}

/** This project's stacks in the backend. */
export async function listStacks(ws: Workspace): Promise<StackSummary[]> {
  const res = await runPulumi(ws, ["stack", "ls", "--json"]);
  const stacks = JSON.parse(res.stdout || "[]") as { name: string; lastUpdate?: string }[];
  return stacks.map((s) => ({ name: s.name.split("/").pop() as string, lastUpdate: s.lastUpdate }));
}

/** `pulumi up` of the workspace's inline program (see engineShortcuts.ts for what it skips). */
export async function upInline(ws: Workspace, stackName: string, opts: { create: boolean; onOutput?: (out: string) => void }): Promise<void> {
  if (!ws.automation) throw new Error("upInline needs a workspace with a program");
  await leanUp(ws.automation, stackName, { ...opts, signal: engineSignal });
}

/**
 * `pulumi destroy`, then the stack removed with everything the backend kept of it
 * (see removeStack). No program is needed.
 */
export async function destroyStack(
  ws: Workspace,
  stackName: string,
  extraEnv: Record<string, string> = {},
  opts: { cleanup?: boolean } = {},
): Promise<CommandResult> {
  const result = await runPulumi(ws, ["destroy", "--yes", "--skip-preview", "--stack", stackName], extraEnv, opts);
  await removeStack(ws, stackName);
  return result;
}

/**
 * The warnings a provider printed in a run's output (`awslease: <resource>: warning: ...`,
 * e.g. a revoke that had to deny every older session of a role).
 */
export function providerWarnings(output: string): string[] {
  return [...output.matchAll(/awslease: (\S+): warning: (.+)$/gm)].map((m) => `${m[1]}: ${m[2].trim()}`);
}

/** `pulumi stack init` (with the secrets provider, if one is set). */
export async function initStack(ws: Workspace, ctx: EngineLocation, stackName: string): Promise<void> {
  const args = ["stack", "init", stackName, "--no-select"];
  if (ctx.secretsProvider) args.push("--secrets-provider", ctx.secretsProvider);
  await runPulumi(ws, args);
}

/** Removes a stack whose resources are already gone (e.g. a failed first issue). */
export async function removeStack(ws: Workspace, stackName: string, opts: { force?: boolean } = {}): Promise<void> {
  // Without --force: a stack that still holds a resource is never dropped from the table
  // (force: the caller has revoked what it holds). --remove-backups: the stack file's
  // .bak copy and backups go too (history always does), so nothing of a revoked lease
  // stays in the backend (`destroy --remove` keeps them). rm honours the stack's lock.
  const args = ["stack", "rm", "--yes", "--remove-backups", "--stack", stackName];
  if (opts.force) args.push("--force");
  await runPulumi(ws, args, {}, { cleanup: true });
}

/** Longest engine error line shown without --debug. */
const MAX_ERROR_LINE = 400;

/**
 * The most useful single line of an engine failure: the resource's own error from
 * the Diagnostics section (e.g. "iam:CreateUser failed: ..."), not "update failed",
 * and never the whole engine output (it lists every role's policy document).
 */
export function engineErrorLine(err: unknown): string {
  const result = (err as { commandResult?: { stdout?: string; stderr?: string } }).commandResult;
  // The Automation API's error message holds the output too; a flattened copy has no line breaks.
  const text = [result?.stdout, result?.stderr, String((err as Error)?.message ?? err)].filter(Boolean).join("\n");
  const lines = text.split("\n").map((l) => l.trim());
  const diagnosticsAt = lines.findIndex((l) => l === "Diagnostics:");
  const diagnostics = diagnosticsAt >= 0 ? lines.slice(diagnosticsAt) : [];
  const isNoise = (l: string) => /^error: (update failed|preview failed|destroy failed|refresh failed|an unhandled error occurred: Program exited)/.test(l);
  const inline = /error: ((?:iam|sts):\w+ failed: .*?)(?=\s+(?:\+|-|~)?\s*pulumi|\s+Resources:|$)/.exec(text)?.[1];
  const pick =
    diagnostics.find((l) => l.startsWith("error:") && !isNoise(l)) ??
    lines.find((l) => l.startsWith("error:") && !isNoise(l)) ??
    inline ??
    lines.find((l) => l.startsWith("error:")) ??
    lines.find((l) => l.length > 0 && !/^(code|stdout|stderr):/.test(l)) ??
    "engine run failed";
  const line = pick.replace(/^error:\s*/, "");
  return line.length > MAX_ERROR_LINE ? `${line.slice(0, MAX_ERROR_LINE)}... (--debug shows all)` : line;
}
