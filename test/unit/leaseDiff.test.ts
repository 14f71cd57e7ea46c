// AwsLease's diff decides when an `up` renews in place and when it issues a new lease
// (new credentials): the rules of issue 3, checked without the engine.
import { describe, expect, it } from "vitest";
import * as pulumi from "@pulumi/pulumi";
import { effectiveEngine, leaseOperations, needsReplacement, type LeaseInputs, type LeaseState } from "../../provider/lease";
import { MOUNT_SETTINGS_ENV } from "../../provider/types";
import { roleSettings, mountSettings } from "../support/fixtures";

const engine = mountSettings({ accessKey: "AKIAOLD", secretKey: "old-secret", maxRetries: -1 });
const identity = { mount: "aws", region: "us-east-1", iamEndpoint: null, stsEndpoint: null, stsRegion: null };

function lease(overrides: Partial<LeaseState> = {}): LeaseState {
  const now = Date.now();
  const state: LeaseState = {
    leaseId: "aws/creds/deploy/abc",
    credentialType: "iam_user",
    accessKey: "AKIALEASE",
    secretKey: "lease-secret",
    issuedAt: new Date(now - 60_000).toISOString(),
    expiresAt: new Date(now + 3_540_000).toISOString(),
    leaseDuration: 3600,
    renewable: true,
    warnings: [],
    engine,
    engineIdentity: identity,
    role: roleSettings(),
    request: { ttl: "1h" },
    ...overrides,
  };
  return { ...state, __provider: "shim-v1" };
}

/** The inputs the next `up` would send for the same program. */
function inputsOf(old: LeaseState, changes: Partial<LeaseInputs> = {}): LeaseInputs {
  return { engine: old.engine, engineIdentity: old.engineIdentity, role: old.role, request: old.request, __provider: old.__provider, ...changes };
}

async function diff(old: LeaseState, news: LeaseInputs) {
  return leaseOperations.diff!(old.leaseId, old, news);
}

describe("AwsLease diff", () => {
  it("an unchanged, healthy lease: no changes", async () => {
    const old = lease();
    expect(await diff(old, inputsOf(old))).toMatchObject({ changes: false, replaces: [] });
  });

  it("a new ttl on an iam_user lease is an update (renew), not a replacement", async () => {
    const old = lease();
    expect(await diff(old, inputsOf(old, { request: { ttl: "2h" } }))).toMatchObject({ changes: true, replaces: [] });
  });

  it("a new ttl on an STS lease replaces it (STS credentials cannot be renewed)", async () => {
    const old = lease({ credentialType: "assumed_role", renewable: false });
    expect((await diff(old, inputsOf(old, { request: { ttl: "2h" } }))).replaces).toContain("request.ttl");
  });

  it("a changed role replaces the lease", async () => {
    const old = lease();
    const res = await diff(old, inputsOf(old, { role: roleSettings({ policyArns: ["arn:aws:iam::aws:policy/ReadOnlyAccess"] }) }));
    expect(res.replaces).toContain("role");
  });

  it("new root keys (rotate-root) are an update; another account or API is a replacement", async () => {
    const old = lease();
    const rotated = await diff(old, inputsOf(old, { engine: { ...engine, accessKey: "AKIANEW", secretKey: "new-secret" } }));
    expect(rotated).toMatchObject({ changes: true, replaces: [] });
    const moved = await diff(old, inputsOf(old, { engineIdentity: { ...identity, region: "eu-west-1" } }));
    expect(moved.replaces).toContain("engine");
  });

  it("in a preview where the engine's settings are unknown, its identity decides: no replacement", async () => {
    const old = lease();
    const res = await diff(old, inputsOf(old, { engine: pulumi.runtime.unknownValue as never }));
    expect(res.replaces).toEqual([]);
    expect(res.changes).toBe(true);
  });

  it("an expired lease, or one with less than 20% (at least a minute) left, is replaced", async () => {
    const expired = lease({ expiresAt: new Date(Date.now() - 1000).toISOString() });
    expect((await diff(expired, inputsOf(expired))).replaces).toContain("expiresAt");
    const expiring = lease({ expiresAt: new Date(Date.now() + 600_000).toISOString() }); // 10 of 60 min left
    expect((await diff(expiring, inputsOf(expiring))).replaces).toContain("expiresAt");
  });

  it("a renewal request on an expiring (not expired) iam_user lease renews instead of replacing", async () => {
    const expiring = lease({ expiresAt: new Date(Date.now() + 600_000).toISOString() });
    const res = await diff(expiring, inputsOf(expiring, { renewal: "2026-11-22T00:00:00Z" }));
    expect(res).toMatchObject({ changes: true, replaces: [] });
  });

  it("only a new serialized provider: an update that stores it, never a replacement", async () => {
    const old = lease();
    expect(await diff(old, inputsOf(old, { __provider: "shim-v2" }))).toMatchObject({ changes: true, replaces: [] });
  });
});

describe("needsReplacement", () => {
  it("uses 20% of the duration with a floor of 60 s", () => {
    const now = Date.parse("2030-01-01T00:00:00Z");
    const at = (s: number) => new Date(now + s * 1000).toISOString();
    expect(needsReplacement({ expiresAt: at(721), leaseDuration: 3600 }, now)).toBe(false);
    expect(needsReplacement({ expiresAt: at(719), leaseDuration: 3600 }, now)).toBe(true);
    expect(needsReplacement({ expiresAt: at(61), leaseDuration: 120 }, now)).toBe(false);
    expect(needsReplacement({ expiresAt: at(59), leaseDuration: 120 }, now)).toBe(true);
  });
});

describe("effectiveEngine (revoke after rotate-root)", () => {
  it("uses the current settings the CLI hands over for the same mount only", () => {
    const current = { ...engine, accessKey: "AKIANEW", secretKey: "new-secret" };
    expect(effectiveEngine(engine, { [MOUNT_SETTINGS_ENV]: JSON.stringify(current) })).toEqual(current);
    expect(effectiveEngine(engine, { [MOUNT_SETTINGS_ENV]: JSON.stringify({ ...current, mount: "other" }) })).toEqual(engine);
    expect(effectiveEngine(engine, {})).toEqual(engine);
  });
});
