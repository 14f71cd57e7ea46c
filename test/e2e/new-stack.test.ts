// service/store/newStack.ts writes a new lease stack into the backend itself instead of
// running `pulumi stack init`. This holds it to the real pulumi: the file has the shape
// `stack init` writes, the engine lists it, opens its secrets and updates it, a name is
// never taken twice, and an issue through the CLI really takes this path.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { cliRunner, configureMount, ok, allowPolicy, type Runner } from "../support/cli";
import { createStackLike } from "../../service/store/newStack";

let runner: Runner;
let project: string;
let stacksDir: string;
let backend: string;

function pulumi(args: string[], env: Record<string, string> = {}): string {
  return execFileSync("pulumi", [...args, "--non-interactive"], {
    cwd: project,
    env: { ...process.env, ...runner.env, PULUMI_BACKEND_URL: backend, PULUMI_HOME: join(runner.home, "pulumi"), PULUMI_SKIP_UPDATE_CHECK: "true", ...env },
  }).toString();
}

const stackFile = (name: string) => JSON.parse(readFileSync(join(stacksDir, `${name}.json`), "utf8"));

/** Every key path of a JSON value ("a.b.c"), to compare two files' shapes. */
function keyPaths(value: unknown, at = ""): string[] {
  if (typeof value !== "object" || value === null || Array.isArray(value)) return [at];
  return Object.entries(value).flatMap(([k, v]) => keyPaths(v, at ? `${at}.${k}` : k));
}

beforeAll(async () => {
  runner = cliRunner();
  await ok(configureMount(runner));
  await ok(runner.run(["role", "write", "ci", "--credential-type", "iam_user", "--policy-document", allowPolicy(["iam:GetUser"])]));
  backend = `file://${runner.home}/state`;
  stacksDir = join(runner.home, "state", ".pulumi", "stacks", "awslease");
  project = mkdtempSync(join(tmpdir(), "awslease-project-"));
  writeFileSync(join(project, "Pulumi.yaml"), "name: awslease\nruntime: nodejs\n");
});

afterAll(() => {
  rmSync(project, { recursive: true, force: true });
  runner?.cleanup();
});

describe("a lease stack written without `pulumi stack init`", () => {
  it("has the shape `stack init` gives, shares the mount's secrets state, and the engine lists and decrypts it", async () => {
    pulumi(["stack", "init", "lease-aws-byinit", "--no-select"]);
    process.env.PULUMI_CONFIG_PASSPHRASE = runner.env.PULUMI_CONFIG_PASSPHRASE;
    expect(await createStackLike(backend, "lease-aws-direct", "mount-aws")).toBe(true);
    const byInit = stackFile("lease-aws-byinit");
    const direct = stackFile("lease-aws-direct");
    expect(keyPaths(direct).sort()).toEqual(keyPaths(byInit).sort());
    expect(direct.version).toBe(byInit.version);
    expect(direct.checkpoint.stack).toBe("organization/awslease/lease-aws-direct");
    expect(direct.checkpoint.latest.manifest).toMatchObject({
      version: byInit.checkpoint.latest.manifest.version,
      magic: byInit.checkpoint.latest.manifest.magic,
    });
    expect(direct.checkpoint.latest.secrets_providers).toEqual(stackFile("mount-aws").checkpoint.latest.secrets_providers);

    const listed = JSON.parse(pulumi(["stack", "ls", "--json"])) as { name: string }[];
    expect(listed.map((s) => s.name)).toEqual(expect.arrayContaining(["lease-aws-direct", "lease-aws-byinit"]));
    // The engine opens its secrets manager with the passphrase (a wrong one is refused).
    pulumi(["config", "set", "--secret", "probe", "value", "--stack", "lease-aws-direct"]);
    expect(pulumi(["config", "get", "probe", "--stack", "lease-aws-direct"]).trim()).toBe("value");
    expect(() => pulumi(["config", "get", "probe", "--stack", "lease-aws-direct"], { PULUMI_CONFIG_PASSPHRASE: "wrong" })).toThrow(/incorrect passphrase/);
    pulumi(["stack", "rm", "--yes", "--stack", "lease-aws-direct"]);
    pulumi(["stack", "rm", "--yes", "--stack", "lease-aws-byinit"]);
  });

  it("never takes a name twice, and declines what it does not know (gzip, no mount)", async () => {
    expect(await createStackLike(backend, "lease-aws-twice", "mount-aws")).toBe(true);
    await expect(createStackLike(backend, "lease-aws-twice", "mount-aws")).rejects.toMatchObject({ code: "EEXIST" });
    expect(await createStackLike(backend, "lease-nomount-x", "mount-nomount")).toBe(false);
    process.env.PULUMI_DIY_BACKEND_GZIP = "true";
    try {
      expect(await createStackLike(backend, "lease-aws-gz", "mount-aws")).toBe(false);
    } finally {
      delete process.env.PULUMI_DIY_BACKEND_GZIP;
    }
    pulumi(["stack", "rm", "--yes", "--stack", "lease-aws-twice"]);
  });

  it("an issue through the CLI takes this path, and its lease revokes", async () => {
    const lease = JSON.parse(await ok(runner.run(["issue", "ci", "--format", "json", "--quiet", "--no-wait"]))) as { lease_id: string };
    const key = lease.lease_id.split("/").pop() as string;
    const stack = stackFile(`lease-aws-${key}`);
    // `stack init` would have made a new salt; this stack shares the mount's.
    expect(stack.checkpoint.latest.secrets_providers).toEqual(stackFile("mount-aws").checkpoint.latest.secrets_providers);
    expect(stack.checkpoint.latest.resources.some((r: { type: string }) => r.type.includes("AwsLease") || r.type === "pulumi-nodejs:dynamic:Resource")).toBe(
      true,
    );
    await ok(runner.run(["lease", "revoke", lease.lease_id, "--quiet"]));
    expect(JSON.parse(await ok(runner.run(["lease", "list", "--format", "json"])))).toEqual([]);
  });
});
