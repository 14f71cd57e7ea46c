// The static-role service (service/staticRoles.ts) on the in-memory engine: what it
// refuses before any engine run, what `rotate --due` picks at a given time, and that
// static-creds reads the table. The AWS side runs against moto in
// test/e2e/static-roles.test.ts; the provider's own rules are in staticRoleProvider.test.ts.
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { writeConfig } from "../../service/mounts";
import { deleteStaticRole, listStaticRoles, readStaticRole, rotateStaticRole, runDue, staticCreds, writeStaticRole } from "../../service/staticRoles";
import { staticRoleStackName, parseStaticRoleStackName } from "../../provider/names";
import { FakeIam } from "./support/fakeIam";
import { memoryContext, type MemoryEngine } from "./support/memoryEngine";
import type { ServiceContext } from "../../service/context";

let ctx: ServiceContext;
let engine: MemoryEngine;
let clock: { ms: number };
let iam: FakeIam;

beforeEach(async () => {
  iam = new FakeIam();
  ({ ctx, engine, clock } = memoryContext());
  await writeConfig(ctx, { accessKey: "AKIAROOT", secretKey: "root-secret", region: "us-east-1" } as never);
});

afterEach(() => iam.mock.restore());

describe("static role stack names", () => {
  it("round-trip any role name, and never match another mount's", () => {
    for (const name of ["deploy", "a_b", "x+y=z,@.-"]) {
      const stack = staticRoleStackName("aws", name);
      expect(stack).toMatch(/^static-aws\.[A-Za-z0-9._-]+$/);
      expect(parseStaticRoleStackName(stack)).toEqual({ mount: "aws", name });
    }
    expect(parseStaticRoleStackName(staticRoleStackName("a-b", "c"))).toEqual({ mount: "a-b", name: "c" });
    expect(parseStaticRoleStackName("lease-aws-abc")).toBeUndefined();
  });
});

describe("static roles", () => {
  it("refuse bad input before any engine run, with the field named", async () => {
    await expect(writeStaticRole(ctx, "svc", { username: "svc" })).rejects.toThrow(/rotationPeriod: is required/);
    await expect(writeStaticRole(ctx, "svc", { username: "svc", rotationPeriod: "30s" })).rejects.toThrow(/rotationPeriod: must be at least 1m/);
    await expect(writeStaticRole(ctx, "svc", { username: "no spaces", rotationPeriod: "1h" })).rejects.toThrow(/username: "no spaces" is not an IAM user name/);
    await expect(writeStaticRole(ctx, "svc", { rotationPeriod: "1h" })).rejects.toThrow(/username: is required/);
    expect(engine.runs.filter((r) => r.startsWith("upStaticRole"))).toEqual([]);
    await expect(writeStaticRole({ ...ctx, mount: "nomount" }, "svc", { username: "svc", rotationPeriod: "1h" })).rejects.toThrow(/nomount/);
  });

  it("write keeps fields not given, refuses a new username, and lists per mount", async () => {
    const first = await writeStaticRole(ctx, "svc", { username: "svc-user", rotationPeriod: "1h" });
    expect(first).toMatchObject({ name: "svc", username: "svc-user", rotationPeriod: 3600 });
    const changed = await writeStaticRole(ctx, "svc", { rotationPeriod: "2h" });
    expect(changed).toMatchObject({ username: "svc-user", rotationPeriod: 7200, accessKey: first.accessKey });
    await expect(writeStaticRole(ctx, "svc", { username: "other" })).rejects.toThrow(/username: cannot be changed/);
    expect(await listStaticRoles(ctx)).toEqual(["svc"]);
    expect(await listStaticRoles({ ...ctx, mount: "aws-x" })).toEqual([]);
    expect((await staticCreds(ctx, "svc")).accessKey).toBe(first.accessKey);
  });

  it("rotate makes a new key and keeps the old one retired; --due picks only what is due", async () => {
    const a = await writeStaticRole(ctx, "a", { username: "user-a", rotationPeriod: "1h" });
    await writeStaticRole(ctx, "b", { username: "user-b", rotationPeriod: "2h" });
    const rotated = await rotateStaticRole(ctx, "a");
    expect(rotated.accessKey).not.toBe(a.accessKey);
    expect(rotated.retiredKey).toBe(a.accessKey);
    // Within the minute nothing is due; after it, a's retired key goes; after an hour, a rotates.
    expect(await runDue(ctx)).toEqual([]);
    clock.ms += 61_000;
    expect((await runDue(ctx)).map((r) => [r.name, r.action])).toEqual([["a", "retire"]]);
    expect((await readStaticRole(ctx, "a")).retiredKey).toBeUndefined();
    clock.ms += 3600_000;
    expect((await runDue(ctx)).map((r) => [r.name, r.action])).toEqual([["a", "rotate"]]);
    // An hour on, a is due again (a rotation also drops the retired key) and b's two hours are up.
    clock.ms += 3600_000;
    expect((await runDue(ctx)).map((r) => [r.name, r.action]).sort()).toEqual([
      ["a", "rotate"],
      ["b", "rotate"],
    ]);
  });

  it("a failing rotation is reported per role and the others go on", async () => {
    await writeStaticRole(ctx, "a", { username: "user-a", rotationPeriod: "1m" });
    await writeStaticRole(ctx, "b", { username: "user-b", rotationPeriod: "1m" });
    clock.ms += 120_000;
    engine.stacks.get(staticRoleStackName("aws", "a"))!.locked = true;
    const results = await runDue(ctx);
    expect(results.find((r) => r.name === "a")?.error).toMatch(/rotation of static role "a" failed/);
    expect(results.find((r) => r.name === "b")).toMatchObject({ action: "rotate" });
    expect(results.find((r) => r.name === "b")?.error).toBeUndefined();
  });

  it("delete removes the role; unknown roles are one clear error", async () => {
    await writeStaticRole(ctx, "svc", { username: "svc-user", rotationPeriod: "1h" });
    await deleteStaticRole(ctx, "svc");
    expect(await listStaticRoles(ctx)).toEqual([]);
    await expect(readStaticRole(ctx, "svc")).rejects.toThrow(/no static role "svc" in mount "aws"/);
    await expect(staticCreds(ctx, "svc")).rejects.toThrow(/no static role "svc"/);
    await expect(deleteStaticRole(ctx, "svc")).rejects.toThrow(/no static role "svc"/);
  });
});
