// Telling a stale stack lock from a live one, from the lock error every DIY backend gives.
import { describe, expect, it } from "vitest";
import { hostname } from "node:os";
import { isStaleLock, locksIn, STALE_LOCK_AFTER_MS } from "../../service/pulumi/stackLocks";

const LOCK_ERROR =
  "error: the stack is currently locked by 2 lock(s). Either wait for the other process(es) to end or delete the lock file with `pulumi cancel`.\n" +
  "  file:///home/u/.awslease/state/.pulumi/locks/organization/awslease/lease-aws-X/1.json: created by root@ci-7 (pid 4242) at 2026-12-01T10:00:00Z\n" +
  "  s3://table/.pulumi/locks/organization/awslease/lease-aws-X/2.json: created by runner@host-b.example (pid 17) at 2026-12-01T10:05:00+01:00";

describe("locksIn", () => {
  it("reads every lock's owner from the error, in the message or the run's stderr", () => {
    const expected = [
      { user: "root", host: "ci-7", pid: 4242, since: "2026-12-01T10:00:00Z" },
      { user: "runner", host: "host-b.example", pid: 17, since: "2026-12-01T10:05:00+01:00" },
    ];
    expect(locksIn(new Error(LOCK_ERROR))).toEqual(expected);
    expect(locksIn({ message: "pulumi destroy exited 255", commandResult: { stdout: "", stderr: LOCK_ERROR, code: 255 } })).toEqual(expected);
    // The same text in both places counts once.
    expect(locksIn({ message: LOCK_ERROR, commandResult: { stdout: "", stderr: LOCK_ERROR, code: 255 } })).toEqual(expected);
  });

  it("is undefined for any other failure", () => {
    expect(locksIn(new Error("error: no stack named 'lease-aws-X' found"))).toBeUndefined();
  });
});

describe("isStaleLock", () => {
  const now = Date.parse("2026-12-01T12:00:00Z");
  const recent = new Date(now - 60_000).toISOString();

  it("older than the bound: stale, wherever its owner runs", () => {
    expect(isStaleLock({ user: "u", host: "elsewhere", pid: 1, since: new Date(now - STALE_LOCK_AFTER_MS - 1000).toISOString() }, now)).toBe(true);
  });

  it("recent and held on another machine: not stale (its owner may be running there)", () => {
    expect(isStaleLock({ user: "u", host: "another-host", pid: 1, since: recent }, now, "this-host")).toBe(false);
  });

  it("recent on this machine: stale when no pulumi runs with that pid (gone, or the pid reused by another program)", () => {
    expect(isStaleLock({ user: "u", host: hostname(), pid: 2 ** 22 + 12345, since: recent }, now)).toBe(true);
    expect(isStaleLock({ user: "u", host: hostname(), pid: process.pid, since: recent }, now)).toBe(true); // this pid runs node, not pulumi
  });
});
