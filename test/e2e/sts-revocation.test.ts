// STS leases that really revoke, through the CLI and the real engine against moto:
// a revoked assumed_role session gets AccessDenied at once, while other sessions of the
// same role, issued before or after, keep working. moto's launcher supplies aws:userid
// and aws:TokenIssueTime as AWS does (scripts/moto_server.py), and enforces the Deny.
// Also: the bulk path (revoke --prefix, in-process), the per-mount opt-out, a root
// identity without iam:PutRolePolicy, and sweep dropping expired Denies.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  AttachRolePolicyCommand,
  CreateAccessKeyCommand,
  CreatePolicyCommand,
  CreateRoleCommand,
  CreateUserCommand,
  GetRolePolicyCommand,
  ListUsersCommand,
  PutRolePolicyCommand,
  PutUserPolicyCommand,
} from "@aws-sdk/client-iam";
import { clients, createAssumableRole, errorName, moto, uniq, allowPolicy } from "../support/aws";
import { cliRunner, configureMount, configWriteArgs, expectOneLineError, ok, serverApi, startServer, type Runner } from "../support/cli";

interface Issued {
  lease_id: string;
  data: { access_key: string; secret_key: string; session_token: string };
}

let runner: Runner;
let roleArn: string;
const roleName = () => roleArn.split("/").pop()!;

async function issue(args: string[] = []): Promise<Issued> {
  return JSON.parse(await ok(runner.run(["issue", "deploy", "--ttl", "15m", "--format", "json", "--quiet", ...args])));
}

/** What the session's credentials get from IAM: "no error" or the error's name. */
function use(lease: Issued): Promise<string> {
  const { iam } = clients(lease.data.access_key, lease.data.secret_key, lease.data.session_token);
  return errorName(iam.send(new ListUsersCommand({})));
}

async function revokedSessionsPolicy(
  role = roleName(),
): Promise<{ Statement: Array<{ Sid: string; Condition: Record<string, Record<string, unknown>> }> } | undefined> {
  try {
    const res = await clients().iam.send(new GetRolePolicyCommand({ RoleName: role, PolicyName: "awslease-revoked-sessions" }));
    return JSON.parse(decodeURIComponent(res.PolicyDocument!));
  } catch (err) {
    if ((err as Error).name === "NoSuchEntity") return undefined;
    throw err;
  }
}

beforeAll(async () => {
  runner = cliRunner();
  await ok(configureMount(runner));
  roleArn = await createAssumableRole(["iam:ListUsers"]);
  await ok(runner.run(["role", "write", "deploy", "--credential-type", "assumed_role", "--role-arns", roleArn]));
}, 120_000);

afterAll(() => runner?.cleanup());

describe("revoking an assumed_role lease", () => {
  it("denies that session at once; a session issued before and one issued after keep working", async () => {
    const revoked = await issue();
    const before = await issue();
    expect([await use(revoked), await use(before)]).toEqual(["no error", "no error"]);

    const r = await runner.run(["lease", "revoke", revoked.lease_id]);
    expect(r.code).toBe(0);
    // Nothing stays valid, so nothing to warn about.
    expect(r.stderr).not.toMatch(/stay valid/);
    expect(await use(revoked)).toBe("AccessDenied");
    expect(await use(before)).toBe("no error");
    const after = await issue();
    expect(await use(after)).toBe("no error");

    // The Deny names exactly that session's aws:userid (<RoleId>:<session name>).
    const doc = await revokedSessionsPolicy();
    const ids = doc!.Statement.flatMap((s) => s.Condition.StringEquals["aws:userid"] as string[]);
    expect(ids).toHaveLength(1);
    expect(ids[0]).toMatch(/^AROA[A-Z0-9]+:awslease-/);
    for (const lease of [before, after]) await ok(runner.run(["lease", "revoke", lease.lease_id]));
  }, 120_000);

  it("a reused session name: denied while the revoke is fresh, its own later sessions are not denied forever (TokenIssueTime bound)", async () => {
    const named = await issue(["--role-session-name", "ci-run-fixed"]);
    await ok(runner.run(["lease", "revoke", named.lease_id]));
    expect(await use(named)).toBe("AccessDenied");
    const doc = await revokedSessionsPolicy();
    const statement = doc!.Statement.find((s) => (s.Condition.StringEquals["aws:userid"] as string[]).some((id) => id.endsWith(":ci-run-fixed")))!;
    // The bound is a minute or two after the revoke: sessions of that name issued later are outside it.
    const bound = Date.parse(statement.Condition.DateLessThan["aws:TokenIssueTime"] as string);
    expect(bound - Date.now()).toBeGreaterThan(0);
    expect(bound - Date.now()).toBeLessThanOrEqual(120_000);
  }, 120_000);

  it("lease revoke --prefix (the in-process path): every session denied, into one statement; the others work", async () => {
    const a = await issue();
    const b = await issue();
    const keep = await issue();
    await ok(runner.run(["lease", "revoke", a.lease_id]));
    const r = await runner.run(["lease", "revoke", "--prefix", b.lease_id]);
    expect(r.code).toBe(0);
    expect([await use(a), await use(b), await use(keep)]).toEqual(["AccessDenied", "AccessDenied", "no error"]);
    await ok(runner.run(["lease", "revoke", keep.lease_id]));
  }, 120_000);

  it("sts_revocation none (per mount): the revoke warns that the credentials stay valid, and they do", async () => {
    await ok(runner.run(["config", "write", "--sts-revocation", "none"]));
    expect(JSON.parse(await ok(runner.run(["config", "read", "--format", "json"]))).sts_revocation).toBe("none");
    const lease = await issue();
    const r = await runner.run(["lease", "revoke", lease.lease_id]);
    expect(r.code).toBe(0);
    expect(r.stderr).toMatch(/credentials stay valid until their AWS expiry at .*: the mount's sts_revocation is none/);
    expect(await use(lease)).toBe("no error");
    await ok(runner.run(["config", "write", "--sts-revocation", "deny"]));
    const bad = await runner.run(["config", "write", "--sts-revocation", "maybe"]);
    expectOneLineError(bad, 1, /--sts-revocation: "maybe" must be one of deny, none/);
  }, 120_000);

  it("sweep drops Denies whose sessions have all expired, and keeps the live ones", async () => {
    const doc = (await revokedSessionsPolicy())!;
    const live = doc.Statement.length;
    const past = Math.floor(Date.now() / 1000) - 3600;
    const expired = {
      Sid: `AwsleaseW${past}U${past}`,
      Effect: "Deny",
      Action: "*",
      Resource: "*",
      Condition: { StringEquals: { "aws:userid": ["AROAOLD:long-gone"] }, DateLessThan: { "aws:TokenIssueTime": new Date(past * 1000).toISOString() } },
    };
    await clients().iam.send(
      new PutRolePolicyCommand({
        RoleName: roleName(),
        PolicyName: "awslease-revoked-sessions",
        PolicyDocument: JSON.stringify({ ...doc, Statement: [...doc.Statement, expired] }),
      }),
    );
    const r = await runner.run(["sweep"]);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain(`dropped expired session denies  role ${roleName()}: 1`);
    const after = (await revokedSessionsPolicy())!;
    expect(after.Statement).toHaveLength(live);
    expect(after.Statement.some((s) => s.Sid === expired.Sid)).toBe(false);
  }, 120_000);
});

describe("through awslease server", () => {
  it("PUT sys/leases/revoke denies the session (the server's engine run, on its warm provider)", async () => {
    const server = await startServer(runner, []);
    try {
      const call = serverApi(server);
      type Answer = { lease_id: string; data: Issued["data"]; warnings?: string[] | null };
      const api = (method: string, path: string, body?: unknown) => call<Answer>(method, path, body);
      const issued = await api("POST", "aws/creds/deploy", { ttl: "15m" });
      const other = await api("POST", "aws/creds/deploy", { ttl: "15m" });
      const lease = { lease_id: issued.lease_id, data: issued.data };
      expect(await use(lease)).toBe("no error");
      const revoked = await api("PUT", "sys/leases/revoke", { lease_id: issued.lease_id });
      expect(revoked.warnings ?? []).toEqual([]);
      expect(await use(lease)).toBe("AccessDenied");
      expect(await use({ lease_id: other.lease_id, data: other.data })).toBe("no error");
      await api("PUT", "sys/leases/revoke", { lease_id: other.lease_id });
    } finally {
      server.start.child.kill("SIGTERM");
      await server.start.result.catch(() => undefined);
    }
  }, 180_000);
});

describe("a root identity without iam:PutRolePolicy", () => {
  it("revoke fails in one line naming the permission (exit 2), the lease stays listed, and the session still works", async () => {
    const m = moto();
    const { iam } = clients();
    const user = uniq("limited");
    await iam.send(new CreateUserCommand({ UserName: user }));
    await iam.send(
      new PutUserPolicyCommand({
        UserName: user,
        PolicyName: "no-put-role-policy",
        PolicyDocument: JSON.stringify({
          Version: "2012-10-17",
          Statement: [
            { Effect: "Allow", Action: ["sts:AssumeRole", "sts:GetCallerIdentity", "iam:GetRolePolicy", "iam:GetUser"], Resource: "*" },
            { Effect: "Deny", Action: "iam:PutRolePolicy", Resource: "*" },
          ],
        }),
      }),
    );
    const key = (await iam.send(new CreateAccessKeyCommand({ UserName: user }))).AccessKey!;
    // A role this user may assume (moto admits a caller only by its exact ARN).
    const role = uniq("role");
    const trust = {
      Version: "2012-10-17",
      Statement: [{ Effect: "Allow", Principal: { AWS: `arn:aws:iam::${m.accountId}:user/${user}` }, Action: "sts:AssumeRole" }],
    };
    const created = await iam.send(new CreateRoleCommand({ RoleName: role, AssumeRolePolicyDocument: JSON.stringify(trust) }));
    const policy = await iam.send(new CreatePolicyCommand({ PolicyName: uniq("allow"), PolicyDocument: allowPolicy(["iam:ListUsers"]) }));
    await iam.send(new AttachRolePolicyCommand({ RoleName: role, PolicyArn: policy.Policy!.Arn! }));

    const limited = ["--mount", "limited"];
    await ok(runner.run([...configWriteArgs(key.AccessKeyId!), ...limited], { stdin: `${key.SecretAccessKey}\n` }));
    await ok(runner.run(["role", "write", "deploy", "--credential-type", "assumed_role", "--role-arns", created.Role!.Arn!, ...limited]));
    const lease: Issued = JSON.parse(await ok(runner.run(["issue", "deploy", "--format", "json", "--quiet", ...limited])));

    const r = await runner.run(["lease", "revoke", lease.lease_id, "--quiet"]);
    expectOneLineError(r, 2, /iam:PutRolePolicy failed: AccessDenied/);
    expect(await ok(runner.run(["lease", "list", "--format", "json", ...limited]))).toContain(lease.lease_id);
    expect(await use(lease)).toBe("no error");
    // With the opt-out the same lease revokes (and stays valid until expiry, as the warning says).
    await ok(runner.run(["config", "write", "--sts-revocation", "none", ...limited]));
    await ok(runner.run(["lease", "revoke", lease.lease_id]));
  }, 180_000);
});
