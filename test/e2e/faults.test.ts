// Faults injected between awslease and AWS (a proxy in front of moto, see
// test/support/faultProxy.ts), through the real CLI and engine: throttling, a
// permanent failure at every step of an issue, lost responses, an endpoint that is
// down or hangs, and processes killed with SIGKILL mid-issue and mid-revoke. After
// each: a clear one-line error, and nothing leaked or lost - no IAM user without a
// listed lease, no lease without its user, no stack left locked.
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { CreateGroupCommand, DeleteGroupCommand, GetUserPolicyCommand, ListUserTagsCommand } from "@aws-sdk/client-iam";
import { GetCallerIdentityCommand } from "@aws-sdk/client-sts";
import { clients, createAssumableRole, moto, uniq } from "../support/aws";
import { faultProxy, type FaultProxy } from "../support/faultProxy";
import {
  allowPolicy,
  backendFilesOf,
  cliRunner,
  engineProcessesOf,
  errorLines,
  exited,
  lockFiles,
  leaseStackFiles,
  ok,
  rootClients,
  TAG_EXPIRES_AT,
  taggedUsers,
  userExists,
  type Runner,
} from "../support/cli";

const mount = uniq("flt");
const group = uniq("grp");
let runner: Runner;
let proxy: FaultProxy;

interface Issued {
  lease_id: string;
  expires_at: string;
  data: { access_key: string; secret_key: string; arn: string | null };
}

/** Issues (quietly, without the usability wait) and returns the lease. */
async function issue(role = "plain", extra: string[] = []): Promise<Issued> {
  return JSON.parse(await ok(runner.run(["issue", role, "--format", "json", "--quiet", "--no-wait", ...extra])));
}

async function listed(): Promise<string[]> {
  return (JSON.parse(await ok(runner.run(["lease", "list", "--format", "json"]))) as { lease_id: string }[]).map((l) => l.lease_id).sort();
}

/** Nothing of this mount is left: no IAM user, no lease, no file of any lease stack (state, backup, history), no lock. */
async function expectNothingLeft(): Promise<void> {
  expect(await taggedUsers({ mount })).toEqual([]);
  expect(await listed()).toEqual([]);
  expect(leaseStackFiles(runner, mount)).toEqual([]);
  expect(backendFilesOf(runner, `lease-${mount}-`)).toEqual([]);
  expect(lockFiles(runner)).toEqual([]);
}

const settle = () => new Promise((r) => setTimeout(r, 1500));

/**
 * Starts the CLI in a process group of its own and SIGKILLs the whole group once the
 * proxy has seen `action` (or after `ms`); then AWS answers normally again.
 */
let interrupts = 0;
async function killTreeWhen(args: string[], when: { action?: string; ms?: number }): Promise<void> {
  interrupts++;
  const { child, result } = runner.start(args, { detached: true });
  if (when.action) await proxy.waitFor(when.action);
  else await new Promise((r) => setTimeout(r, when.ms ?? 0));
  process.kill(-child.pid!, "SIGKILL");
  await exited(child);
  await result.catch(() => undefined);
  proxy.clear();
  await settle();
}

beforeAll(async () => {
  proxy = await faultProxy(moto().endpoint);
  runner = cliRunner({ mount });
  const m = moto();
  await ok(
    runner.run(
      ["config", "write", "--access-key", m.accessKey, "--secret-key-stdin", "--region", m.region, "--iam-endpoint", proxy.url, "--sts-endpoint", proxy.url],
      { stdin: `${m.secretKey}\n` },
    ),
  );
  await rootClients().iam.send(new CreateGroupCommand({ GroupName: group }));
  // Every step of an iam_user issue: managed policy, inline policy, expiry policy, group, key.
  await ok(
    runner.run([
      "role",
      "write",
      "all",
      "--credential-type",
      "iam_user",
      "--policy-document",
      allowPolicy(["iam:ListUsers"]),
      "--policy-arns",
      "arn:aws:iam::aws:policy/ReadOnlyAccess",
      "--iam-groups",
      group,
    ]),
  );
  await ok(runner.run(["role", "write", "plain", "--credential-type", "iam_user", "--policy-document", allowPolicy(["iam:ListUsers"])]));
  await ok(runner.run(["role", "write", "sts", "--credential-type", "assumed_role", "--role-arns", await createAssumableRole(["iam:ListUsers"])]));
});

afterEach(async () => {
  proxy.reset();
  // A failed test must not leave its leases and users to the next one.
  for (const id of await listed().catch(() => [])) await runner.run(["lease", "revoke", id, "--quiet", "--break-lock"]);
  if ((await taggedUsers({ mount })).length > 0) await runner.run(["sweep", "--min-age", "0s", "--quiet"]);
  proxy.reset();
});

afterAll(async () => {
  const leaked = await taggedUsers({ mount }).catch(() => ["(unknown)"]);
  console.log(`faults: ${proxy?.faultsInjected} faulted AWS requests and ${interrupts} processes killed mid-run; IAM users left: ${leaked.length}`);
  proxy?.clear();
  await runner?.run(["lease", "revoke", "--prefix", `${mount}/`, "--quiet"]).catch(() => undefined);
  await runner?.run(["sweep", "--min-age", "0s", "--quiet"]).catch(() => undefined);
  await rootClients()
    .iam.send(new DeleteGroupCommand({ GroupName: group }))
    .catch(() => undefined);
  await proxy?.close();
  runner?.cleanup();
});

describe("transient faults are retried", () => {
  it("every IAM and STS call throttled 3 times (the 4th attempt answers): issue and revoke succeed, STS and IAM", async () => {
    proxy.add({ action: "*", fault: "throttle", attempts: 3 });
    const sts = await issue("sts");
    expect(proxy.actions("throttle").filter((a) => a === "AssumeRole")).toHaveLength(3);
    await ok(runner.run(["lease", "revoke", sts.lease_id, "--quiet"]));
    const lease = await issue("plain");
    expect(proxy.actions("throttle").filter((a) => a === "CreateUser")).toHaveLength(3);
    expect(proxy.actions("throttle").filter((a) => a === "CreateAccessKey")).toHaveLength(3);
    expect(await listed()).toEqual([lease.lease_id]);
    const r = await runner.run(["lease", "revoke", lease.lease_id, "--quiet"]);
    expect(r.code).toBe(0);
    expect(proxy.actions("throttle").filter((a) => a === "DeleteUser")).toHaveLength(3);
    await expectNothingLeft();
  });

  it("a 500 answered twice for CreateAccessKey: retried, the issue succeeds", async () => {
    proxy.add({ action: "CreateAccessKey", fault: "error500", times: 2 });
    const lease = await issue("plain");
    expect(proxy.actions("error500")).toEqual(["CreateAccessKey", "CreateAccessKey"]);
    await ok(runner.run(["lease", "revoke", lease.lease_id, "--quiet"]));
    await expectNothingLeft();
  });

  it("CreateUser's answer lost once (the SDK retries into EntityAlreadyExists): the issue goes on with its own user; one user, revoked cleanly", async () => {
    proxy.add({ action: "CreateUser", fault: "lostResponse", times: 1 });
    const lease = await issue("all");
    expect(proxy.actions().filter((a) => a === "CreateUser")).toHaveLength(2);
    const users = await taggedUsers({ mount, leaseId: lease.lease_id });
    expect(users).toHaveLength(1);
    expect(lease.data.arn).toMatch(new RegExp(`/${users[0]}$`));
    await ok(runner.run(["lease", "revoke", lease.lease_id, "--quiet"]));
    await expectNothingLeft();
  });
});

describe("a permanent failure at each step of an iam_user issue: exit 2, one line naming the action, no IAM user left", () => {
  const steps: { name: string; action: string; params?: Record<string, string>; fault: "error" | "error500" }[] = [
    { name: "CreateUser", action: "CreateUser", fault: "error" },
    { name: "AttachUserPolicy", action: "AttachUserPolicy", fault: "error" },
    { name: "PutUserPolicy (the role's policy)", action: "PutUserPolicy", params: { PolicyName: "all" }, fault: "error" },
    { name: "PutUserPolicy (the expiry policy)", action: "PutUserPolicy", params: { PolicyName: "awslease-expiry" }, fault: "error" },
    { name: "AddUserToGroup", action: "AddUserToGroup", fault: "error" },
    { name: "CreateAccessKey", action: "CreateAccessKey", fault: "error" },
    { name: "CreateAccessKey, a 500 on every attempt", action: "CreateAccessKey", fault: "error500" },
  ];
  for (const step of steps) {
    it(step.name, async () => {
      proxy.add({ action: step.action, params: step.params, fault: step.fault });
      const r = await runner.run(["issue", "all", "--format", "json", "--quiet", "--no-wait"]);
      expect(r.code).toBe(2);
      expect(r.stdout).toBe("");
      const lines = errorLines(r.stderr);
      expect(lines).toHaveLength(1);
      expect(lines[0]).toMatch(new RegExp(`^awslease: error: issue failed: iam:${step.action} failed: (AccessDenied|ServiceFailure)`));
      expect(lines[0].length).toBeLessThan(600);
      expect(proxy.actions(step.fault)).toContain(step.action);
      await expectNothingLeft();
    });
  }
});

describe("the AWS endpoint down or hanging during revoke", () => {
  it("connections dropped: exit 2, one line, the lease stays listed; the same revoke succeeds once the endpoint is back", async () => {
    const lease = await issue();
    proxy.add({ action: "*", fault: "drop" });
    const r = await runner.run(["lease", "revoke", lease.lease_id, "--quiet"]);
    expect(r.code).toBe(2);
    const lines = errorLines(r.stderr);
    expect(lines).toHaveLength(1);
    expect(lines[0]).toContain(`revoke of ${lease.lease_id} failed (the lease stays listed; retry): iam:ListAccessKeys failed`);
    expect(await listed()).toEqual([lease.lease_id]);
    expect(await userExists(lease.data.arn!.split("/").pop()!)).toBe(true);

    proxy.clear();
    await ok(runner.run(["lease", "revoke", lease.lease_id, "--quiet"]));
    await expectNothingLeft();
  });

  it("an endpoint that accepts and never answers: the request times out (AWSLEASE_AWS_TIMEOUT), exit 2, no engine process left", async () => {
    const lease = await issue();
    proxy.add({ action: "ListAccessKeys", fault: "hang" });
    const r = await runner.run(["lease", "revoke", lease.lease_id, "--quiet"], { env: { AWSLEASE_AWS_TIMEOUT: "1s" } });
    expect(r.code).toBe(2);
    expect(errorLines(r.stderr)).toEqual([expect.stringMatching(/iam:ListAccessKeys failed: TimeoutError: .*1000 ms requestTimeout/)]);
    expect(await listed()).toEqual([lease.lease_id]);
    await settle();
    expect(engineProcessesOf(runner.home)).toEqual([]);
    expect(lockFiles(runner)).toEqual([]);
    proxy.clear();
    await ok(runner.run(["lease", "revoke", lease.lease_id, "--quiet"]));
    await expectNothingLeft();
  });
});

describe("bulk revokes run in parallel; one lease's failure is its own line", () => {
  it("revoke --prefix --parallel 3 of 5 leases, one of which AWS refuses: the other 4 are revoked, exit 2, the refused one stays listed", async () => {
    const leases = await Promise.all(Array.from({ length: 5 }, () => issue("plain")));
    const refused = leases[2];
    proxy.add({ action: "ListAccessKeys", params: { UserName: refused.data.arn!.split("/").pop()! }, fault: "error" });
    const r = await runner.run(["lease", "revoke", "--prefix", `${mount}/creds/plain/`, "--parallel", "3", "--format", "json"]);
    expect(r.code).toBe(2);
    const rows = JSON.parse(r.stdout) as { lease_id: string; outcome: string; error?: string }[];
    expect(
      rows
        .filter((x) => x.outcome === "revoked")
        .map((x) => x.lease_id)
        .sort(),
    ).toEqual(
      leases
        .filter((l) => l !== refused)
        .map((l) => l.lease_id)
        .sort(),
    );
    expect(rows.find((x) => x.lease_id === refused.lease_id)).toMatchObject({
      outcome: "failed",
      error: expect.stringContaining("iam:ListAccessKeys failed: AccessDenied"),
    });
    const lines = r.stderr.split("\n").filter((l) => l.startsWith("awslease: error: "));
    expect(lines).toEqual([
      expect.stringContaining(`revoke of ${refused.lease_id} failed`),
      "awslease: error: 1 of 5 leases could not be revoked (they stay listed)",
    ]);
    expect(await listed()).toEqual([refused.lease_id]);
    proxy.clear();
    await ok(runner.run(["lease", "revoke", refused.lease_id, "--quiet"]));
    await expectNothingLeft();
  });
});

describe("renew moves everything or nothing", () => {
  const expiryPolicy = async (username: string) =>
    decodeURIComponent((await rootClients().iam.send(new GetUserPolicyCommand({ UserName: username, PolicyName: "awslease-expiry" }))).PolicyDocument!);
  const expiryTag = async (username: string) =>
    (await rootClients().iam.send(new ListUserTagsCommand({ UserName: username }))).Tags?.find((t) => t.Key === TAG_EXPIRES_AT)?.Value;

  for (const denied of [
    { action: "TagUser", params: undefined },
    { action: "PutUserPolicy", params: { PolicyName: "awslease-expiry" } },
  ]) {
    it(`${denied.action} denied: exit 2; the lease, the tag and the AWS-side expiry all keep the old expiry`, async () => {
      const lease = await issue("plain", ["--ttl", "1h"]);
      const username = lease.data.arn!.split("/").pop()!;
      const policyBefore = await expiryPolicy(username);
      expect(policyBefore).toContain(lease.expires_at);
      proxy.add({ action: denied.action, params: denied.params, fault: "error" });
      const r = await runner.run(["lease", "renew", lease.lease_id, "--increment", "2h", "--quiet"]);
      expect(r.code).toBe(2);
      expect(errorLines(r.stderr)).toEqual([expect.stringContaining(`iam:${denied.action} failed: AccessDenied`)]);
      proxy.clear();
      expect(await expiryPolicy(username)).toBe(policyBefore);
      expect(await expiryTag(username)).toBe(lease.expires_at);
      const row = JSON.parse(await ok(runner.run(["lease", "lookup", lease.lease_id, "--format", "json"])));
      expect(row.expire_time).toBe(lease.expires_at);
      // And a renew that can go through moves all three.
      const renewed = JSON.parse(await ok(runner.run(["lease", "renew", lease.lease_id, "--increment", "2h", "--format", "json", "--quiet"])));
      expect(renewed.expire_time).not.toBe(lease.expires_at);
      expect(await expiryTag(username)).toBe(renewed.expire_time);
      expect(await expiryPolicy(username)).toContain(renewed.expire_time);
      await ok(runner.run(["lease", "revoke", lease.lease_id, "--quiet"]));
      await expectNothingLeft();
    });
  }
});

describe("SIGKILL of the whole process tree", () => {
  // Where the kill lands, by the last AWS call the proxy has seen; CreateAccessKey is
  // held back a moment so kills after CreateUser land before the stack is saved.
  const stages = [
    { when: "before any AWS call (300 ms in)", waitFor: undefined },
    { when: "right after CreateUser", waitFor: "CreateUser" },
    { when: "right after AttachUserPolicy", waitFor: "AttachUserPolicy" },
    { when: "while CreateAccessKey is answered", waitFor: "CreateAccessKey" },
  ];
  for (const stage of stages) {
    it(`during issue, ${stage.when}: nothing is lost - the lease is listed and revocable, or sweep --min-age 0s removes what it left`, async () => {
      proxy.add({ action: "CreateAccessKey", fault: "delay", delayMs: 1500 });
      await killTreeWhen(["issue", "all", "--format", "json", "--no-wait"], { action: stage.waitFor, ms: 300 });
      // The providers follow their pulumi (the watchdog): no process goes on alone.
      expect(engineProcessesOf(runner.home)).toEqual([]);

      // Nothing lost: every user this mount tagged is either behind a listed lease, or
      // is found and removed by the sweep.
      const leases = await listed();
      const users = await taggedUsers({ mount });
      // The kill landed where meant: after CreateUser there is a user to account for.
      expect(users).toHaveLength(stage.waitFor ? 1 : 0);
      const r = await runner.run(["sweep", "--min-age", "0s", "--format", "json"]);
      expect(r.code).toBe(0);
      const swept = JSON.parse(r.stdout);
      expect(swept.failures).toEqual([]);
      expect(swept.orphaned_users).toEqual([]);
      // That user is behind a listed lease (the record was saved before the kill) or its
      // stack is an unfinished issue the sweep cleaned up: never unaccounted for.
      if (stage.waitFor) expect(leases.length + swept.abandoned_issues.length).toBe(1);
      for (const id of leases) await ok(runner.run(["lease", "revoke", id, "--quiet"]));
      await expectNothingLeft();
    });
  }

  it("a killed issue's lease id (from its user's tag) is revocable: the unfinished issue is cleaned up", async () => {
    proxy.add({ action: "CreateAccessKey", fault: "delay", delayMs: 1500 });
    await killTreeWhen(["issue", "all", "--format", "json", "--no-wait"], { action: "CreateUser" });
    const users = await taggedUsers({ mount });
    expect(users).toHaveLength(1);
    // Not listed as a lease, but not hidden either: the table has a row for its stack
    // (its lock is stale: the pulumi holding it was killed), JSON a note on stderr.
    const list = await runner.run(["lease", "list"]);
    const rows = list.stdout.trim().split("\n");
    expect(rows).toHaveLength(2);
    expect(rows[1]).toMatch(new RegExp(`^${mount}/\\?/\\S+ .* unfinished$`));
    const json = await runner.run(["lease", "list", "--format", "json"]);
    expect(JSON.parse(json.stdout)).toEqual([]);
    expect(json.stderr).toContain("1 lease stack(s) without a record (an issue still running, or one that was killed)");
    const leaseId = (await rootClients().iam.send(new ListUserTagsCommand({ UserName: users[0] }))).Tags!.find((t) => t.Key === "awslease:lease-id")!.Value!;
    const r = await runner.run(["lease", "revoke", leaseId]);
    expect(r.code).toBe(0);
    expect(r.stderr).toContain("breaking stale lock");
    expect(r.stderr).toContain(`cleaned up the unfinished issue of ${leaseId}`);
    await expectNothingLeft();
  });

  it("during revoke, with an AWS call in flight: the next revoke breaks the stale lock and finishes", async () => {
    const lease = await issue("all");
    proxy.add({ action: "DeleteAccessKey", fault: "hang" });
    await killTreeWhen(["lease", "revoke", lease.lease_id], { action: "DeleteAccessKey" });
    expect(engineProcessesOf(runner.home)).toEqual([]);
    expect(lockFiles(runner)).toHaveLength(1);
    expect(await listed()).toEqual([lease.lease_id]);

    const r = await runner.run(["lease", "revoke", lease.lease_id]);
    expect(r.code).toBe(0);
    expect(r.stderr).toMatch(/breaking stale lock of lease-\S+ \(pid \d+ on \S+ since /);
    await expectNothingLeft();
    // The key of the revoked lease is dead.
    const key = clients(lease.data.access_key, lease.data.secret_key);
    await expect(key.sts.send(new GetCallerIdentityCommand({}))).rejects.toThrow();
  });

  it("SIGTERM twice during a hung revoke: the whole tree stops at once (exit 143); the next revoke breaks the stale lock", async () => {
    const lease = await issue();
    proxy.add({ action: "ListAccessKeys", fault: "hang" });
    const { child, result } = runner.start(["lease", "revoke", lease.lease_id]);
    await proxy.waitFor("ListAccessKeys");
    child.kill("SIGTERM"); // graceful: pulumi is asked to cancel, and waits for the hung call
    await new Promise((r) => setTimeout(r, 1000));
    child.kill("SIGTERM"); // stop waiting
    interrupts++;
    const r = await result;
    expect(r.code).toBe(143);
    await settle();
    expect(engineProcessesOf(runner.home)).toEqual([]);
    proxy.clear();
    const again = await runner.run(["lease", "revoke", lease.lease_id]);
    expect(again.code).toBe(0);
    expect(again.stderr).toContain("breaking stale lock");
    await expectNothingLeft();
  });

  it("a lock whose owner is alive is not broken: exit 2 with the exact command; --break-lock is the operator's choice", async () => {
    const lease = await issue();
    proxy.add({ action: "ListAccessKeys", fault: "hang" });
    const first = runner.start(["lease", "revoke", lease.lease_id, "--quiet"]);
    await proxy.waitFor("ListAccessKeys");
    const second = await runner.run(["lease", "revoke", lease.lease_id, "--quiet"]);
    expect(second.code).toBe(2);
    const lines = errorLines(second.stderr);
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(
      new RegExp(`is locked by pulumi pid \\d+ on \\S+ since \\S+; if that run is gone, retry with \`awslease lease revoke ${lease.lease_id} --break-lock\``),
    );
    // The owner finishes once AWS answers again.
    proxy.clear();
    expect((await first.result).code).toBe(0);
    await expectNothingLeft();
  });
});
