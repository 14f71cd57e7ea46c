// Ctrl-C during `issue`: awslease cancels the engine run gracefully (pulumi gets SIGINT)
// instead of dying and leaving provider processes behind, and whatever the run had
// created is revoked - nobody received those credentials. Interrupts land at several
// points of the run; every outcome must leave AWS, the lease table and the process
// table clean (or, if the issue finished first, a working lease that is listed).
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { execFileSync } from "node:child_process";
import { uniq } from "../support/aws";
import { allowPolicy, cliRunner, configureMount, ok, taggedUsers, type Runner } from "../support/cli";

const mount = uniq("int");
let runner: Runner;

beforeAll(async () => {
  runner = cliRunner({ mount });
  await ok(configureMount(runner));
  await ok(runner.run(["role", "write", "ci", "--credential-type", "iam_user", "--policy-document", allowPolicy(["iam:ListUsers"])]));
});

afterAll(() => runner?.cleanup());

/** Provider processes whose environment names this runner's home (i.e. started by it). */
function providerProcessesOf(home: string): number {
  const out = execFileSync("sh", ["-c", 'grep -l -a -s -- "$0" /proc/[0-9]*/environ || true', home], { encoding: "utf8" });
  const pids = out
    .split("\n")
    .filter(Boolean)
    .map((p) => p.split("/")[2]);
  return pids.filter((pid) => {
    try {
      return /dynamic-provider/.test(execFileSync("cat", [`/proc/${pid}/cmdline`], { encoding: "utf8" }));
    } catch {
      return false;
    }
  }).length;
}

async function settle(): Promise<void> {
  await new Promise((r) => setTimeout(r, 1000));
}

describe("interrupting issue", () => {
  for (const afterMs of [800, 1600, 2400]) {
    it(`SIGINT ${afterMs} ms into issue leaves nothing behind`, async () => {
      const { child, result } = runner.start(["issue", "ci", "--format", "json"]);
      await new Promise((r) => setTimeout(r, afterMs));
      child.kill("SIGINT");
      const res = await result;
      await settle();
      expect(providerProcessesOf(runner.home)).toBe(0);
      const listed = JSON.parse((await runner.run(["lease", "list", "--format", "json"])).stdout) as { lease_id: string }[];
      if (res.code === 0) {
        // The issue completed before the signal took effect: a normal, listed lease.
        const lease = JSON.parse(res.stdout);
        expect(listed.map((l) => l.lease_id)).toEqual([lease.lease_id]);
        await ok(runner.run(["lease", "revoke", lease.lease_id]));
      } else {
        expect(res.code, `stderr: ${res.stderr}`).toBe(130);
        expect(res.stdout).toBe("");
        expect(res.stderr).toMatch(/interrupted \(SIGINT\)/);
        expect(listed).toEqual([]);
      }
      expect(await taggedUsers({ mount })).toEqual([]);
    });
  }
});
