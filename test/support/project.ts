// A Pulumi project directory for e2e tests, driven through the real `pulumi` CLI
// (stack init, config set, up, refresh, destroy, stack export) exactly as a user runs
// it, with a throwaway file backend, passphrase and PULUMI_HOME per project.
//
// Two ways to provide the project's node_modules:
//   "link": symlinks to the repo's node_modules (one @pulumi/pulumi, no install time),
//           with `awslease` pointing at a private copy of the package (package.json +
//           dist) that the test may change, e.g. to simulate a code upgrade, without
//           touching the repo's dist/ that other test runs use.
//   "npm":  `npm install` as a user does (the example's `file:../..` dependency is
//           rewritten to the repo's absolute path, since the copy lives elsewhere).
import { spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import { cpSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, relative, resolve } from "node:path";

export const repoRoot = resolve(__dirname, "../..");

export interface RunResult {
  code: number;
  stdout: string;
  stderr: string;
}

export interface RunOptions {
  /** Written to the command's stdin (how secrets reach `pulumi config set --secret`). */
  input?: string;
  /** The command prints secrets by design (`--show-secrets`): keep it out of the transcript. */
  showsSecrets?: boolean;
  /** Give up (and kill the command) after this long. */
  timeoutMs?: number;
  /** Working directory (default: the project directory). */
  cwd?: string;
}

export interface ProjectOptions {
  /** Copy examples/<example> into the project directory. */
  example?: string;
  /** Files to write into the project directory (after the example's). */
  files?: Record<string, string>;
  install: "link" | "npm";
}

const DEFAULT_TIMEOUT_MS = 240_000;

/** Environment variables of the caller that must not reach the engine: the program must get AWS access only from its config. */
const DROPPED_ENV = /^(AWS_|PULUMI_)/;

export class PulumiProject {
  /** Temp directory holding everything below; removed by cleanup(). */
  readonly root: string;
  /** The Pulumi project directory (Pulumi.yaml, index.ts, node_modules). */
  readonly dir: string;
  /** The file backend's directory. */
  readonly backendDir: string;
  /** "link" mode: the private awslease package copy the project resolves `awslease` to. */
  readonly packageDir?: string;
  /** stdout + stderr of every command run, except those that show secrets on purpose. */
  readonly transcript: string[] = [];
  readonly env: NodeJS.ProcessEnv;

  private constructor(root: string, dir: string, packageDir: string | undefined) {
    this.root = root;
    this.dir = dir;
    this.packageDir = packageDir;
    this.backendDir = join(root, "backend");
    mkdirSync(this.backendDir);
    mkdirSync(join(root, "pulumi-home"));
    const inherited = Object.fromEntries(Object.entries(process.env).filter(([k]) => !DROPPED_ENV.test(k)));
    this.env = {
      ...inherited,
      PULUMI_BACKEND_URL: `file://${this.backendDir}`,
      PULUMI_CONFIG_PASSPHRASE: randomBytes(12).toString("hex"),
      PULUMI_HOME: join(root, "pulumi-home"),
      PULUMI_SKIP_UPDATE_CHECK: "true",
      PULUMI_DISABLE_AUTOMATIC_PLUGIN_ACQUISITION: "true",
    };
  }

  static async create(opts: ProjectOptions): Promise<PulumiProject> {
    const root = mkdtempSync(join(tmpdir(), "awslease-program-"));
    const dir = join(root, "project");
    mkdirSync(dir);
    if (opts.example) {
      cpSync(join(repoRoot, "examples", opts.example), dir, {
        recursive: true,
        // A developer's own install or stack files in the example must not leak in.
        filter: (src) => !/[\\/](node_modules|Pulumi\.[^\\/]+\.yaml|package-lock\.json)$/.test(src),
      });
    }
    for (const [name, text] of Object.entries(opts.files ?? {})) writeFileSync(join(dir, name), text);

    let packageDir: string | undefined;
    if (opts.install === "link") {
      packageDir = privatePackageCopy(join(root, "awslease"));
      linkNodeModules(dir, packageDir);
    }
    const project = new PulumiProject(root, dir, packageDir);
    if (opts.install === "npm") await project.npmInstall();
    return project;
  }

  /** `npm install` in the project, as a user runs it (offline-safe: local package + npm cache). */
  private async npmInstall(): Promise<void> {
    const manifestPath = join(this.dir, "package.json");
    const manifest = JSON.parse(readFileSync(manifestPath, "utf8"));
    if (manifest.dependencies?.awslease?.startsWith("file:")) manifest.dependencies.awslease = `file:${repoRoot}`;
    writeFileSync(manifestPath, JSON.stringify(manifest, null, 2) + "\n");
    const result = await this.run("npm", ["install", "--no-audit", "--no-fund", "--prefer-offline"]);
    if (result.code !== 0) throw new Error(`npm install failed (${result.code}):\n${result.stdout}\n${result.stderr}`);
  }

  /** Runs a command in the project directory; never throws on a non-zero exit. */
  run(command: string, args: string[], opts: RunOptions = {}): Promise<RunResult> {
    return new Promise((resolvePromise, reject) => {
      const child = spawn(command, args, { cwd: opts.cwd ?? this.dir, env: this.env, stdio: ["pipe", "pipe", "pipe"] });
      let stdout = "";
      let stderr = "";
      child.stdout.on("data", (d) => (stdout += String(d)));
      child.stderr.on("data", (d) => (stderr += String(d)));
      const timer = setTimeout(() => child.kill("SIGKILL"), opts.timeoutMs ?? DEFAULT_TIMEOUT_MS);
      child.on("error", (err) => {
        clearTimeout(timer);
        reject(err);
      });
      child.on("close", (code, signal) => {
        clearTimeout(timer);
        if (!opts.showsSecrets) this.transcript.push(`$ ${command} ${args.join(" ")}\n${stdout}\n${stderr}`);
        resolvePromise({ code: code ?? (signal ? 128 : 1), stdout, stderr });
      });
      child.stdin.end(opts.input ?? "");
    });
  }

  /** Runs `pulumi <args>`; throws with the whole output when it fails. Returns stdout. */
  async pulumi(args: string[], opts: RunOptions = {}): Promise<string> {
    const result = await this.run("pulumi", args, opts);
    if (result.code !== 0) {
      const shown = opts.showsSecrets ? "(output not shown: it may hold secrets)" : `${result.stdout}\n${result.stderr}`;
      throw new Error(`pulumi ${args.join(" ")} exited ${result.code}:\n${shown}`);
    }
    return result.stdout;
  }

  /** Runs `pulumi <args>` expecting it to fail; returns stdout + stderr. */
  async pulumiFails(args: string[]): Promise<string> {
    const result = await this.run("pulumi", args);
    if (result.code === 0) throw new Error(`pulumi ${args.join(" ")} succeeded but was expected to fail:\n${result.stdout}`);
    return `${result.stdout}\n${result.stderr}`;
  }

  async initStack(name: string): Promise<void> {
    await this.pulumi(["stack", "init", name, "--non-interactive"]);
  }

  async setConfig(key: string, value: string): Promise<void> {
    await this.pulumi(["config", "set", key, "--", value]);
  }

  /** `pulumi config set --secret`, the value on stdin (never on the command line). */
  async setSecret(key: string, value: string): Promise<void> {
    await this.pulumi(["config", "set", "--secret", key], { input: value });
  }

  async up(): Promise<string> {
    return this.pulumi(["up", "--yes", "--skip-preview", "--non-interactive"]);
  }

  async refresh(): Promise<string> {
    return this.pulumi(["refresh", "--yes", "--skip-preview", "--non-interactive"]);
  }

  async destroy(opts: RunOptions = {}): Promise<string> {
    return this.pulumi(["destroy", "--yes", "--skip-preview", "--non-interactive"], opts);
  }

  /**
   * A second checkout of the project, as on another machine sharing the backend: the
   * project's files and installed packages, but no stack config file (Pulumi.<stack>.yaml).
   */
  otherCheckout(): string {
    const other = join(this.root, "other-checkout");
    mkdirSync(other);
    for (const name of readdirSync(this.dir)) {
      if (name === "node_modules") symlinkSync(join(this.dir, name), join(other, name));
      else if (!/^Pulumi\..+\.yaml$/.test(name) || name === "Pulumi.yaml") cpSync(join(this.dir, name), join(other, name), { recursive: true });
    }
    return other;
  }

  /** `pulumi preview --json`: what an `up` would do, as { op, type, name } per resource. */
  async previewSteps(): Promise<{ op: string; type: string; name: string }[]> {
    const preview = JSON.parse(await this.pulumi(["preview", "--json", "--non-interactive"]));
    return (preview.steps ?? []).map((s: { op: string; urn: string }) => {
      const parts = s.urn.split("::");
      return { op: s.op, type: parts[parts.length - 2], name: parts[parts.length - 1] };
    });
  }

  /** Stack outputs with secrets decrypted (`pulumi stack output --json --show-secrets`). */
  async outputs(): Promise<Record<string, any>> {
    return JSON.parse(await this.pulumi(["stack", "output", "--json", "--show-secrets"], { showsSecrets: true }));
  }

  /** `pulumi stack export`: the deployment as stored, secrets as ciphertext. */
  async exportStack(): Promise<StackExport> {
    return JSON.parse(await this.pulumi(["stack", "export"]));
  }

  /** Every file of the backend (state, history, backups) and the project's stack config files, as text. */
  stateFiles(): { path: string; text: string }[] {
    const files = listFiles(this.backendDir);
    for (const name of readdirSync(this.dir)) if (/^Pulumi\..+\.yaml$/.test(name)) files.push(join(this.dir, name));
    return files.map((path) => ({ path: relative(this.root, path), text: readFileSync(path, "utf8") }));
  }

  cleanup(): void {
    rmSync(this.root, { recursive: true, force: true });
  }
}

export interface StackResource {
  urn: string;
  type: string;
  id?: string;
  inputs?: Record<string, any>;
  outputs?: Record<string, any>;
}

export interface StackExport {
  version: number;
  deployment: { resources?: StackResource[]; secrets_providers?: unknown };
}

/** The signature Pulumi puts on every secret value in state. */
export const SECRET_SIG_KEY = "4dabf18193072939515e22adb298388d";
export const SECRET_SIG_VALUE = "1b47061264138c4ac30d75fd1eb44270";

/** True when the value is stored as a Pulumi secret (ciphertext with the secret signature). */
export function isEncryptedSecret(value: unknown): boolean {
  const v = value as Record<string, unknown> | undefined;
  return !!v && v[SECRET_SIG_KEY] === SECRET_SIG_VALUE && typeof v.ciphertext === "string" && v.ciphertext.length > 0;
}

/** The resources of an export, by type suffix (e.g. "AwsLease"). */
export function resourcesOfType(state: StackExport, type: string): StackResource[] {
  return (state.deployment.resources ?? []).filter((r) => r.type.endsWith(`:${type}`));
}

function listFiles(dir: string): string[] {
  const out: string[] = [];
  for (const name of readdirSync(dir)) {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) out.push(...listFiles(path));
    else out.push(path);
  }
  return out;
}

/** A copy of the installed shape of the awslease package: package.json, bin and dist, with the repo's node_modules. */
function privatePackageCopy(target: string): string {
  mkdirSync(target);
  for (const entry of ["package.json", "bin", "dist"]) cpSync(join(repoRoot, entry), join(target, entry), { recursive: true });
  symlinkSync(join(repoRoot, "node_modules"), join(target, "node_modules"));
  return target;
}

/** node_modules of symlinks to the repo's, plus awslease -> the package copy. */
function linkNodeModules(projectDir: string, packageDir: string): void {
  const modules = join(projectDir, "node_modules");
  mkdirSync(modules);
  for (const name of readdirSync(join(repoRoot, "node_modules"))) {
    if (name === "awslease") continue;
    symlinkSync(join(repoRoot, "node_modules", name), join(modules, name));
  }
  symlinkSync(packageDir, join(modules, "awslease"));
}
