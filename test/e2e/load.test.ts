// Load: 20 `awslease issue` processes at once on one lease table, then 20 `lease
// revoke` at once. Every one succeeds, every lease is distinct, and afterwards no IAM
// user, lease stack, lock or engine process is left. (`npm run test:load` runs only this.)
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { uniq } from "../support/aws";
import {
  allowPolicy,
  cliRunner,
  configureMount,
  engineProcessesOf,
  leaseStackFiles,
  lockFiles,
  ok,
  taggedUsers,
  type CliResult,
  type Runner,
} from "../support/cli";

const PARALLEL = 20;
const mount = uniq("load");
let runner: Runner;
const leases: { lease_id: string; data: { access_key: string; arn: string } }[] = [];

async function timed(args: string[]): Promise<CliResult & { seconds: number }> {
  const start = Date.now();
  const r = await runner.run(args, { timeoutMs: 600_000 });
  return { ...r, seconds: (Date.now() - start) / 1000 };
}

const summary = (xs: number[]) => `wall max ${Math.max(...xs).toFixed(1)} s, median ${xs.sort((a, b) => a - b)[Math.floor(xs.length / 2)].toFixed(1)} s`;

beforeAll(async () => {
  runner = cliRunner({ mount });
  await ok(configureMount(runner));
  await ok(runner.run(["role", "write", "ci", "--credential-type", "iam_user", "--policy-document", allowPolicy(["iam:ListUsers"])]));
});

afterAll(async () => {
  await runner?.run(["lease", "revoke", "--prefix", `${mount}/`, "--quiet"]).catch(() => undefined);
  runner?.cleanup();
});

describe(`${PARALLEL} parallel issues, then ${PARALLEL} parallel revokes`, () => {
  it(`${PARALLEL} issues at once: all succeed, every lease and user distinct, all listed`, async () => {
    const start = Date.now();
    const results = await Promise.all(Array.from({ length: PARALLEL }, () => timed(["issue", "ci", "--format", "json", "--quiet", "--no-wait"])));
    const failed = results.filter((r) => r.code !== 0);
    expect(failed.map((r) => r.stderr)).toEqual([]);
    for (const r of results) leases.push(JSON.parse(r.stdout));
    console.log(`load: ${PARALLEL} parallel issues in ${((Date.now() - start) / 1000).toFixed(1)} s (${summary(results.map((r) => r.seconds))})`);

    expect(new Set(leases.map((l) => l.lease_id)).size).toBe(PARALLEL);
    expect(new Set(leases.map((l) => l.data.access_key)).size).toBe(PARALLEL);
    expect(new Set(leases.map((l) => l.data.arn)).size).toBe(PARALLEL);
    expect((await taggedUsers({ mount })).length).toBe(PARALLEL);
    const listed = JSON.parse(await ok(runner.run(["lease", "list", "--format", "json"]))) as { lease_id: string }[];
    expect(listed.map((l) => l.lease_id).sort()).toEqual(leases.map((l) => l.lease_id).sort());
    expect(lockFiles(runner)).toEqual([]);
  });

  it(`${PARALLEL} revokes at once: all succeed; no IAM user, lease stack, lock or engine process left`, async () => {
    expect(leases).toHaveLength(PARALLEL);
    const start = Date.now();
    const results = await Promise.all(leases.map((l) => timed(["lease", "revoke", l.lease_id, "--quiet"])));
    expect(results.filter((r) => r.code !== 0).map((r) => r.stderr)).toEqual([]);
    console.log(`load: ${PARALLEL} parallel revokes in ${((Date.now() - start) / 1000).toFixed(1)} s (${summary(results.map((r) => r.seconds))})`);
    expect(await taggedUsers({ mount })).toEqual([]);
    expect(leaseStackFiles(runner, mount)).toEqual([]);
    expect(lockFiles(runner)).toEqual([]);
    expect(JSON.parse(await ok(runner.run(["lease", "list", "--format", "json"])))).toEqual([]);
    await new Promise((r) => setTimeout(r, 1000));
    expect(engineProcessesOf(runner.home)).toEqual([]);
  });
});
