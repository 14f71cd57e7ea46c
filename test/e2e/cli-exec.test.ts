// `awslease exec ROLE -- CMD`: the child gets fresh credentials in its environment,
// awslease exits with the child's code, forwards signals, and always revokes the lease.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { GetCallerIdentityCommand } from "@aws-sdk/client-sts";
import { clients, moto, uniq, errorName } from "../support/aws";
import { allowPolicy, cliRunner, configureMount, ok, taggedUsers, userExists, type Runner, type CliResult } from "../support/cli";

const mount = uniq("ex");
let runner: Runner;

beforeAll(async () => {
  runner = cliRunner({ mount });
  await ok(configureMount(runner));
  await ok(runner.run(["role", "write", "runner", "--credential-type", "iam_user", "--policy-document", allowPolicy(["iam:ListUsers"])]));
});

afterAll(() => runner?.cleanup());

/**
 * The child: reports what it saw (on awslease's stdout, which it inherits) as one JSON
 * line, then behaves as `mode` says. Test-only: it prints the secret so the test can
 * show that the key is dead afterwards.
 */
const CHILD = `
const { IAMClient, ListUsersCommand } = require("@aws-sdk/client-iam");
const { STSClient, GetCallerIdentityCommand } = require("@aws-sdk/client-sts");
const mode = process.argv[1];
(async () => {
  const cfg = { endpoint: process.env.TEST_ENDPOINT, region: process.env.AWS_REGION, maxAttempts: 1 };
  const me = await new STSClient(cfg).send(new GetCallerIdentityCommand({}));
  const users = await new IAMClient(cfg).send(new ListUsersCommand({}));
  console.log(JSON.stringify({
    accessKey: process.env.AWS_ACCESS_KEY_ID,
    secretKey: process.env.AWS_SECRET_ACCESS_KEY,
    sessionToken: process.env.AWS_SESSION_TOKEN ?? null,
    expiration: process.env.AWS_CREDENTIAL_EXPIRATION,
    leaseId: process.env.AWSLEASE_EXEC,
    profile: process.env.AWS_PROFILE ?? null,
    withheld: Object.keys(process.env).filter((k) => /^(PULUMI_|AWSLEASE_(?!EXEC$)|AWS_CONTAINER_|AWS_WEB_IDENTITY|AWS_ROLE_ARN)/.test(k)).sort(),
    arn: me.Arn,
    listedUsers: users.Users.length,
  }));
  if (mode === "exit7") process.exit(7);
  if (mode === "exit0") process.exit(0);
  if (mode === "sigkill") process.kill(process.pid, "SIGKILL");
  if (mode === "wait-for-signal") {
    process.on("SIGTERM", () => { console.log("child got SIGTERM"); process.exit(42); });
    console.log("ready");
    setInterval(() => {}, 1000);
  }
})().catch((e) => { console.log(JSON.stringify({ error: e.name + ": " + e.message })); process.exit(99); });
`;

interface Seen {
  accessKey: string;
  secretKey: string;
  sessionToken: string | null;
  expiration: string;
  leaseId: string;
  profile: string | null;
  withheld: string[];
  arn: string;
  listedUsers: number;
  error?: string;
}

function seen(r: CliResult): Seen {
  const line = r.stdout.split("\n").find((l) => l.startsWith("{"));
  if (!line) throw new Error(`the child printed nothing\nstdout: ${r.stdout}\nstderr: ${r.stderr}`);
  return JSON.parse(line);
}

/** What the child saw is no longer valid anywhere: lease gone from the table, user gone, key rejected. */
async function expectRevoked(s: Seen) {
  expect(s.leaseId).toMatch(new RegExp(`^${mount}/creds/runner/`));
  expect(await taggedUsers({ leaseId: s.leaseId })).toEqual([]);
  expect(await userExists(s.arn.split("/").pop()!)).toBe(false);
  expect(await errorName(clients(s.accessKey, s.secretKey).sts.send(new GetCallerIdentityCommand({})))).toBe("InvalidClientTokenId");
  expect(JSON.parse(await ok(runner.run(["lease", "list", "--format", "json"])))).toEqual([]);
}

const childEnv = () => ({
  TEST_ENDPOINT: moto().endpoint,
  // Must not reach the child: exec clears what would shadow the issued credentials.
  AWS_PROFILE: "stale-profile",
  AWS_SESSION_TOKEN: "stale-token",
  // Nor may anything that reaches the lease table or another identity.
  AWS_CONTAINER_AUTHORIZATION_TOKEN: "container-token",
  AWS_WEB_IDENTITY_TOKEN_FILE: "/nonexistent/web-identity-token",
  PULUMI_CONFIG_PASSPHRASE_FILE: "/nonexistent/passphrase",
});

describe("awslease exec", () => {
  it("passes the child's exit code (7); the child had working credentials; afterwards the lease is revoked", async () => {
    const r = await runner.run(["exec", "runner", "--ttl", "15m", "--", process.execPath, "-e", CHILD, "exit7"], { env: childEnv() });
    const s = seen(r);
    expect(s.error).toBeUndefined();
    expect(r.code).toBe(7);
    expect(s.accessKey).toMatch(/^AKIA/);
    expect(s.sessionToken).toBeNull();
    expect(s.profile).toBeNull();
    // The runner sets PULUMI_CONFIG_PASSPHRASE and AWSLEASE_HOME; none of it reaches the child.
    expect(s.withheld).toEqual([]);
    expect(s.arn).toMatch(/^arn:aws:iam::123456789012:user\//);
    expect(s.listedUsers).toBeGreaterThan(0);
    expect(Date.parse(s.expiration)).not.toBeNaN();
    expect(r.stderr).toContain(`revoking ${s.leaseId}`);
    await expectRevoked(s);
  });

  it("a child that succeeds: exit 0, lease revoked", async () => {
    const r = await runner.run(["exec", "runner", "--no-wait", "--", process.execPath, "-e", CHILD, "exit0"], { env: childEnv() });
    expect(r.code).toBe(0);
    await expectRevoked(seen(r));
  });

  it("a child killed by a signal: exit 128+9, lease revoked", async () => {
    const r = await runner.run(["exec", "runner", "--no-wait", "--", process.execPath, "-e", CHILD, "sigkill"], { env: childEnv() });
    expect(r.code).toBe(137);
    await expectRevoked(seen(r));
  });

  it("SIGTERM to awslease is forwarded to the child; awslease exits with the child's code and revokes", async () => {
    const { child, result } = runner.start(["exec", "runner", "--no-wait", "--", process.execPath, "-e", CHILD, "wait-for-signal"], {
      env: childEnv(),
    });
    let out = "";
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`child never got ready: ${out}`)), 120_000);
      child.stdout!.on("data", (d) => {
        out += String(d);
        if (out.includes("ready\n")) {
          clearTimeout(timer);
          resolve();
        }
      });
      child.on("exit", () => reject(new Error(`awslease exited early: ${out}`)));
    });
    child.kill("SIGTERM");
    const r = await result;
    expect(r.stdout).toContain("child got SIGTERM");
    expect(r.code).toBe(42);
    await expectRevoked(seen(r));
  });

  it("a command that cannot be started: exit 127, lease revoked", async () => {
    const r = await runner.run(["exec", "runner", "--no-wait", "--", "/nonexistent/awslease-test-command"]);
    expect(r.code).toBe(127);
    expect(r.stderr).toMatch(/cannot run \/nonexistent\/awslease-test-command/);
    expect(JSON.parse(await ok(runner.run(["lease", "list", "--format", "json"])))).toEqual([]);
    expect(await taggedUsers({ mount })).toEqual([]);
  });
});
