// The published package as a user gets it: `npm pack`, then `npm install -g` into a
// temp prefix. The tarball holds only what runs; the installed `awslease` issues and
// revokes against moto with the real pulumi; without pulumi it says how to install
// it; and a user's project that has @pulumi/pulumi gets one copy of it (a peer).
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { execFileSync, spawn } from "node:child_process";
import { mkdirSync, mkdtempSync, readdirSync, realpathSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { moto } from "../support/aws";
import { allowPolicy, configWriteArgs, repoRoot } from "../support/cli";

const work = mkdtempSync(join(tmpdir(), "awslease-package-"));
const prefix = join(work, "prefix");
let tarball = "";
let listing: { path: string; size: number }[] = [];
let packed = { size: 0, unpackedSize: 0 };

/** The directory of the real pulumi (its bundled plugins sit beside it). */
const pulumiDir = dirname(realpathSync(execFileSync("which", ["pulumi"], { encoding: "utf8" }).trim()));
/** A PATH with node 22 and the system's tools, and pulumi only when asked. */
const pathFor = (withPulumi: boolean) => [dirname(process.execPath), ...(withPulumi ? [pulumiDir] : []), "/usr/local/bin", "/usr/bin", "/bin"].join(":");

function npm(args: string[], cwd: string): string {
  return execFileSync("npm", [...args, "--no-audit", "--no-fund", "--loglevel=error"], {
    cwd,
    encoding: "utf8",
    env: { ...process.env, PATH: pathFor(false) },
    timeout: 300_000,
  });
}

/** Runs the installed CLI with only what a user's shell would have. */
function installed(args: string[], opts: { pulumi?: boolean; stdin?: string } = {}): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const home = join(work, "home");
  mkdirSync(home, { recursive: true });
  return new Promise((resolve, reject) => {
    const child = spawn(join(prefix, "bin", "awslease"), args, {
      cwd: work,
      env: { PATH: pathFor(opts.pulumi ?? true), HOME: work, AWSLEASE_HOME: home, PULUMI_CONFIG_PASSPHRASE: "package-test" },
    });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (d) => (stdout += d));
    child.stderr.on("data", (d) => (stderr += d));
    child.on("error", reject);
    child.on("close", (code) => resolve({ code, stdout, stderr }));
    child.stdin.end(opts.stdin ?? "");
  });
}

beforeAll(() => {
  const out = JSON.parse(npm(["pack", "--json", "--pack-destination", work], repoRoot))[0];
  tarball = join(work, out.filename);
  listing = out.files;
  packed = { size: out.size, unpackedSize: out.unpackedSize };
  npm(["install", "-g", "--prefix", prefix, tarball], work);
}, 600_000);

afterAll(() => rmSync(work, { recursive: true, force: true }));

describe("the npm package", () => {
  it("holds only what runs: bin, the compiled cli/provider/server/service, the UI, LICENSE; no dev scripts, tests or source maps", () => {
    const paths = listing.map((f) => f.path);
    console.log(`tarball: ${packed.size} bytes packed, ${packed.unpackedSize} unpacked, ${paths.length} files`);
    for (const p of paths)
      expect(p).toMatch(/^(package\.json|README\.md|LICENSE|bin\/awslease\.js|dist\/(cli|provider|server|service)\/.+\.(js|d\.ts)|server\/ui\/[^/]+)$/);
    for (const needed of [
      "LICENSE",
      "bin/awslease.js",
      "dist/cli/main.js",
      "dist/provider/index.js",
      "dist/provider/index.d.ts",
      "dist/provider/runtime.js",
      "dist/service/pulumi/warmProviderProcess.js",
      "server/ui/index.html",
    ]) {
      expect(paths).toContain(needed);
    }
    expect(paths.some((p) => p.endsWith(".map") || p.startsWith("dist/scripts/") || p.startsWith("test/"))).toBe(false);
  });

  it("npm install -g gives a working awslease: --version, then config, role, issue and revoke against moto", async () => {
    const version = await installed(["--version"]);
    expect(version.stdout.trim()).toBe(require("../../package.json").version);
    const write = await installed([...configWriteArgs(), "-q"], { stdin: `${moto().secretKey}\n` });
    expect(write.code, write.stderr).toBe(0);
    const role = await installed(["role", "write", "pkg", "--credential-type", "iam_user", "--policy-document", allowPolicy(["iam:GetUser"]), "-q"]);
    expect(role.code, role.stderr).toBe(0);
    const issued = await installed(["issue", "pkg", "--format", "json", "--no-wait", "-q"]);
    expect(issued.code, issued.stderr).toBe(0);
    const lease = JSON.parse(issued.stdout);
    expect(lease.data.access_key).toMatch(/^AKIA/);
    const revoked = await installed(["lease", "revoke", lease.lease_id, "-q"]);
    expect(revoked.code, revoked.stderr).toBe(0);
    expect(JSON.parse((await installed(["lease", "list", "--format", "json"])).stdout)).toEqual([]);
  });

  it("without pulumi on PATH: one line saying how to install it (not `npm run setup`), exit 2", async () => {
    const r = await installed(["role", "write", "nopulumi", "--credential-type", "iam_user", "--policy-document", allowPolicy(["iam:GetUser"]), "-q"], {
      pulumi: false,
    });
    expect(r.code).toBe(2);
    const lines = r.stderr.trim().split("\n");
    expect(lines, r.stderr).toHaveLength(1);
    expect(lines[0]).toMatch(/pulumi CLI was not found on PATH: install it \(curl -fsSL https:\/\/get\.pulumi\.com \| sh/);
    expect(lines[0]).not.toContain("npm run setup");
  });

  it("a user's project that depends on @pulumi/pulumi gets one copy of it (a peer dependency)", () => {
    const project = join(work, "user-project");
    mkdirSync(project);
    writeFileSync(
      join(project, "package.json"),
      JSON.stringify({ name: "user-project", private: true, dependencies: { "@pulumi/pulumi": "3.259.0", awslease: `file:${tarball}` } }),
    );
    npm(["install", "--ignore-scripts"], project);
    const copies = (function find(dir: string): string[] {
      return readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
        if (!e.isDirectory()) return [];
        const path = join(dir, e.name);
        if (path.endsWith(join("@pulumi", "pulumi"))) return [path];
        return e.name === "node_modules" || e.name.startsWith("@") || dir.endsWith("node_modules") ? find(path) : [];
      });
    })(join(project, "node_modules"));
    expect(copies).toEqual([join(project, "node_modules", "@pulumi", "pulumi")]);
  });
});
