// The GitHub Action's committed bundle, run the way the runner runs it: `node
// dist/action/main.js` with INPUT_* variables and the GITHUB_ENV / GITHUB_OUTPUT /
// GITHUB_STATE files, then `node dist/action/post.js` with the saved state as STATE_*.
// Engine mode drives the real pulumi against moto; server mode goes through a real
// `awslease server` with a scoped token and neither pulumi nor the passphrase.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { spawn } from "node:child_process";
import { mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { ListUsersCommand } from "@aws-sdk/client-iam";
import { clients, createAssumableRole, errorName } from "../support/aws";
import { commOf, descendantsOf } from "../../service/pulumi/procfs";
import { allowPolicy, cliRunner, configureMount, ok, PASSPHRASE, repoRoot, serverApi, startServer, taggedUsers, type Runner } from "../support/cli";

const MOUNT = "aws";
let runner: Runner;
let work: string;

/** The directory of the real pulumi (the test's PATH has it first). */
const pulumiDir = process.env.PATH!.split(":").find((d) => {
  try {
    return readdirSync(d).includes("pulumi");
  } catch {
    return false;
  }
})!;
const nodeDir = dirname(process.execPath);

interface StepResult {
  code: number | null;
  stdout: string;
  stderr: string;
  /** Entries the step appended to each command file. */
  env: Record<string, string>;
  outputs: Record<string, string>;
  state: Record<string, string>;
}

/** `NAME<<DELIM\nvalue\nDELIM\n` entries, as the runner reads them. */
function fileCommands(path: string): Record<string, string> {
  let text: string;
  try {
    text = readFileSync(path, "utf8");
  } catch {
    return {};
  }
  const out: Record<string, string> = {};
  const entry = /^([^<\n]+)<<(\S+)\n([\s\S]*?)\n\2\n/;
  while (text.length > 0) {
    const m = entry.exec(text);
    if (!m) throw new Error(`not a file-command entry: ${JSON.stringify(text.slice(0, 80))}`);
    out[m[1]] = m[3];
    text = text.slice(m[0].length);
  }
  return out;
}

/** Runs one step as the runner does; `state` is what main saved (STATE_<name> for post). */
function step(
  name: "main" | "post",
  inputs: Record<string, string>,
  opts: { state?: Record<string, string>; env?: Record<string, string | undefined>; pulumi?: boolean; onStart?: (pid: number) => void } = {},
): Promise<StepResult> {
  const files = mkdtempSync(join(work, `${name}-`));
  const env: Record<string, string> = {
    PATH: [nodeDir, ...(opts.pulumi === false ? [] : [pulumiDir]), "/usr/local/bin", "/usr/bin", "/bin"].join(":"),
    HOME: runner.home,
    AWSLEASE_HOME: runner.home,
    PULUMI_CONFIG_PASSPHRASE: PASSPHRASE,
    RUNNER_TEMP: work,
    GITHUB_ENV: join(files, "env"),
    GITHUB_OUTPUT: join(files, "output"),
    GITHUB_STATE: join(files, "state"),
  };
  // The runner passes every declared input, "" when not given, and defaults filled in.
  for (const [k, v] of Object.entries({ mount: MOUNT, ...inputs })) env[`INPUT_${k.toUpperCase()}`] = v;
  for (const [k, v] of Object.entries(opts.state ?? {})) env[`STATE_${k}`] = v;
  for (const [k, v] of Object.entries(opts.env ?? {})) {
    if (v === undefined) delete env[k];
    else env[k] = v;
  }
  for (const f of ["env", "output", "state"]) writeFileSync(join(files, f), "");
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [join(repoRoot, "dist", "action", `${name}.js`)], { cwd: work, env });
    opts.onStart?.(child.pid!);
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (d) => (stdout += d));
    child.stderr.on("data", (d) => (stderr += d));
    child.on("error", reject);
    child.on("close", (code) =>
      resolve({
        code,
        stdout,
        stderr,
        env: fileCommands(join(files, "env")),
        outputs: fileCommands(join(files, "output")),
        state: fileCommands(join(files, "state")),
      }),
    );
  });
}

function succeeded(r: StepResult): StepResult {
  if (r.code !== 0) throw new Error(`step exited ${r.code}\nstdout: ${r.stdout}\nstderr: ${r.stderr}`);
  return r;
}

/** Lines other than ::add-mask:: must not hold any of the secrets. */
function expectNoSecretOutsideMasks(r: StepResult, secrets: string[]): void {
  const unmasked = r.stdout
    .split("\n")
    .filter((l) => !l.startsWith("::add-mask::"))
    .join("\n");
  for (const s of secrets) {
    expect(unmasked).not.toContain(s);
    expect(r.stderr).not.toContain(s);
  }
}

async function listUsersWith(env: Record<string, string>): Promise<string> {
  const { iam } = clients(env.AWS_ACCESS_KEY_ID, env.AWS_SECRET_ACCESS_KEY, env.AWS_SESSION_TOKEN || undefined);
  return errorName(iam.send(new ListUsersCommand({})));
}

beforeAll(async () => {
  runner = cliRunner();
  work = mkdtempSync(join(tmpdir(), "awslease-action-"));
  await ok(configureMount(runner));
  await ok(runner.run(["role", "write", "ci", "--credential-type", "iam_user", "--policy-document", allowPolicy(["iam:ListUsers"])]));
  const roleArn = await createAssumableRole(["iam:ListUsers"]);
  await ok(runner.run(["role", "write", "deploy", "--credential-type", "assumed_role", "--role-arns", roleArn]));
}, 120_000);

afterAll(() => {
  runner?.cleanup();
  if (work) rmSync(work, { recursive: true, force: true });
});

describe("the action in engine mode (pulumi and the passphrase on the runner)", () => {
  it("main masks first, exports working credentials and the lease outputs; post revokes and the key stops working", async () => {
    const main = succeeded(await step("main", { role: "ci", ttl: "15m" }));
    const { AWS_ACCESS_KEY_ID: key, AWS_SECRET_ACCESS_KEY: secret } = main.env;
    expect(key).toMatch(/^AKIA/);
    // The first lines of the step's log are the masks, before anything else.
    const lines = main.stdout.split("\n");
    expect(lines.slice(0, 2)).toEqual([`::add-mask::${key}`, `::add-mask::${secret}`]);
    expectNoSecretOutsideMasks(main, [key, secret]);
    // Later steps get the AWS variables; outputs carry the lease, never the credentials.
    expect(main.env).toMatchObject({ AWS_SESSION_TOKEN: "", AWS_REGION: expect.any(String), AWSLEASE_LEASE_ID: main.outputs["lease-id"] });
    expect(Object.keys(main.outputs).sort()).toEqual(["expiration", "lease-id"]);
    expect(main.outputs["lease-id"]).toMatch(new RegExp(`^${MOUNT}/creds/ci/`));
    expect(Date.parse(main.outputs.expiration) - Date.now()).toBeGreaterThan(14 * 60_000);
    expect(main.state).toEqual({ lease_id: main.outputs["lease-id"] });
    expect(await listUsersWith(main.env)).toBe("no error");
    const leaseId = main.outputs["lease-id"];
    expect(await taggedUsers({ leaseId })).toHaveLength(1);
    expect(await ok(runner.run(["lease", "list", "--format", "json"]))).toContain(leaseId);

    const post = succeeded(await step("post", { role: "ci" }, { state: main.state }));
    expect(post.stdout).toContain(`awslease: revoked ${leaseId}`);
    expect(post.stdout).not.toContain("::error::");
    expect(await taggedUsers({ leaseId })).toEqual([]);
    expect(await listUsersWith(main.env)).toBe("InvalidClientTokenId");
    expect(await ok(runner.run(["lease", "list", "--format", "json"]))).not.toContain(leaseId);
  }, 180_000);

  it("post revokes after the job failed: a later step used the credentials and failed", async () => {
    const main = succeeded(await step("main", { role: "ci" }));
    // A failing step in between changes nothing for post: the runner runs it anyway (post-if: always()).
    const failingStep = await new Promise<number | null>((resolve) => {
      const child = spawn(process.execPath, ["-e", "process.exit(process.env.AWS_ACCESS_KEY_ID ? 3 : 0)"], { env: { ...main.env } });
      child.on("close", resolve);
    });
    expect(failingStep).toBe(3);
    const post = succeeded(await step("post", { role: "ci" }, { state: main.state }));
    expect(post.stdout).toContain(`awslease: revoked ${main.state.lease_id}`);
    expect(await taggedUsers({ leaseId: main.state.lease_id })).toEqual([]);
  }, 180_000);

  it("a job cancelled during main (SIGINT while the engine runs): main stops with 130, and post leaves no IAM user and no lease behind", async () => {
    const before = new Set(await taggedUsers({ mount: MOUNT, role: "ci" }));
    let pid = 0;
    const running = step("main", { role: "ci" }, { onStart: (p) => (pid = p) });
    // The runner cancels a step with SIGINT; this one lands once pulumi runs.
    const deadline = Date.now() + 30_000;
    while (!descendantsOf(pid).some((p) => commOf(p) === "pulumi")) {
      if (Date.now() > deadline) throw new Error("main never started pulumi");
      await new Promise((r) => setTimeout(r, 20));
    }
    process.kill(pid, "SIGINT");
    const main = await running;
    expect(main.code).toBe(130);
    const post = succeeded(await step("post", { role: "ci" }, { state: main.state }));
    // Whichever side of the issue the signal fell on, nothing stays.
    expect(post.stdout).toMatch(main.state.lease_id ? /awslease: (revoked|lease .* was already revoked)/ : /no lease to revoke/);
    const left = (await taggedUsers({ mount: MOUNT, role: "ci" })).filter((u) => !before.has(u));
    expect(left).toEqual([]);
    const listed = JSON.parse(await ok(runner.run(["lease", "list", "--format", "json"]))) as Array<{ lease_id: string }>;
    expect(listed.filter((l) => l.lease_id.startsWith(`${MOUNT}/creds/ci/`))).toEqual([]);
  }, 180_000);

  it("post without state (main never issued) does nothing and needs nothing: no pulumi, no passphrase", async () => {
    const post = succeeded(await step("post", { role: "ci" }, { pulumi: false, env: { PULUMI_CONFIG_PASSPHRASE: undefined } }));
    expect(post.stdout).toBe("awslease: no lease to revoke (main issued none)\n");
    expect(post.stderr).toBe("");
  });

  it("an assumed_role lease: session token exported and masked; post revokes, and the session is denied at once", async () => {
    const main = succeeded(await step("main", { role: "deploy", ttl: "15m", "role-session-name": "gha-run-1" }));
    const { AWS_ACCESS_KEY_ID: key, AWS_SECRET_ACCESS_KEY: secret, AWS_SESSION_TOKEN: token } = main.env;
    expect(token.length).toBeGreaterThan(20);
    expect(main.stdout.split("\n").slice(0, 3)).toEqual([`::add-mask::${key}`, `::add-mask::${secret}`, `::add-mask::${token}`]);
    expectNoSecretOutsideMasks(main, [key, secret, token]);
    expect(await listUsersWith(main.env)).toBe("no error");
    const post = succeeded(await step("post", { role: "deploy" }, { state: main.state }));
    expect(post.stdout).toContain(`awslease: revoked ${main.state.lease_id}`);
    expect(post.stdout).not.toContain("::warning::");
    expect(await listUsersWith(main.env)).toBe("AccessDenied");
  }, 180_000);

  it("bad input: one ::error:: line, exit 1, nothing issued", async () => {
    const before = await taggedUsers({ mount: MOUNT });
    const cases: Array<[Record<string, string>, Parameters<typeof step>[2], RegExp]> = [
      [{ role: "" }, {}, /role: is required/],
      [{ role: "nope" }, {}, /no such role "nope"/],
      [{ role: "ci", ttl: "forever" }, {}, /ttl/],
      [{ role: "ci" }, { env: { PULUMI_CONFIG_PASSPHRASE: undefined } }, /PULUMI_CONFIG_PASSPHRASE: not set.*server-address/],
      [{ role: "ci" }, { pulumi: false }, /pulumi: no pulumi CLI on this runner: add `- uses: pulumi\/actions@v6`/],
      [{ role: "ci", token: "hvs.x" }, {}, /token: goes with server-address/],
      [{ role: "ci", "server-address": "http://awslease.example.com:8200", token: "hvs.x" }, {}, /server-address: plain http is only for loopback/],
      [{ role: "ci", "server-address": "https://a.example.com", token: "hvs.x", backend: "file:///tmp/x" }, {}, /backend: is for engine mode/],
    ];
    for (const [inputs, opts, pattern] of cases) {
      const r = await step("main", inputs, opts);
      const errors = r.stdout.split("\n").filter((l) => l.startsWith("::error::"));
      expect({ inputs, code: r.code, errors: errors.length }).toEqual({ inputs, code: 1, errors: 1 });
      expect(errors[0]).toMatch(pattern);
      expect(r.state).toEqual({});
      expect(r.env).toEqual({});
    }
    expect(await taggedUsers({ mount: MOUNT })).toEqual(before);
  }, 180_000);
});

describe("the action in server mode (server-address and token)", () => {
  it("issues and revokes through awslease server with a scoped token: no pulumi and no passphrase on the runner", async () => {
    const server = await startServer(runner, []);
    try {
      const api = serverApi(server);
      const policy = (paths: Record<string, string[]>) =>
        JSON.stringify({ path: Object.fromEntries(Object.entries(paths).map(([p, capabilities]) => [p, { capabilities }])) });
      await api("PUT", "sys/policies/acl/ci-only", { policy: policy({ [`${MOUNT}/creds/ci`]: ["read", "update"], "sys/leases/revoke": ["update"] }) });
      const token = (await api<{ auth: { client_token: string } }>("POST", "auth/token/create", { policies: ["ci-only"], ttl: "1h" })).auth.client_token;
      const inputs = { role: "ci", "server-address": server.addr, token };
      const runnerEnv = { pulumi: false, env: { PULUMI_CONFIG_PASSPHRASE: undefined } } as const;

      const main = succeeded(await step("main", inputs, runnerEnv));
      const { AWS_ACCESS_KEY_ID: key, AWS_SECRET_ACCESS_KEY: secret } = main.env;
      expect(main.stdout.split("\n").slice(0, 3)).toEqual([`::add-mask::${token}`, `::add-mask::${key}`, `::add-mask::${secret}`]);
      expectNoSecretOutsideMasks(main, [token, key, secret]);
      expect(await listUsersWith(main.env)).toBe("no error");
      const leaseId = main.state.lease_id;
      expect(await taggedUsers({ leaseId })).toHaveLength(1);

      const post = succeeded(await step("post", inputs, { ...runnerEnv, state: main.state }));
      expect(post.stdout).toContain(`awslease: revoked ${leaseId}`);
      expect(await taggedUsers({ leaseId })).toEqual([]);
      expectNoSecretOutsideMasks(post, [token]);

      // A token without revoke rights: post fails, says how to finish, and the lease stays listed.
      await api("PUT", "sys/policies/acl/issue-only", { policy: policy({ [`${MOUNT}/creds/ci`]: ["read", "update"] }) });
      const issueOnly = (await api<{ auth: { client_token: string } }>("POST", "auth/token/create", { policies: ["issue-only"], ttl: "1h" })).auth.client_token;
      const narrow = { ...inputs, token: issueOnly };
      const kept = succeeded(await step("main", narrow, runnerEnv));
      const refused = await step("post", narrow, { ...runnerEnv, state: kept.state });
      expect(refused.code).toBe(1);
      expect(refused.stdout).toMatch(
        new RegExp(`^::error::awslease: revoke of ${kept.state.lease_id} failed: .*permission denied.*awslease lease revoke`, "m"),
      );
      expect(await taggedUsers({ leaseId: kept.state.lease_id })).toHaveLength(1);
      await ok(runner.run(["lease", "revoke", kept.state.lease_id]));
    } finally {
      server.start.child.kill("SIGTERM");
      await server.start.result.catch(() => undefined);
    }
  }, 300_000);
});
