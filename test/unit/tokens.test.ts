// The server's token store (service/auth/tokens.ts) and policies (policies.ts) on an
// in-memory lease store with a test clock.
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { beforeEach, describe, expect, it } from "vitest";
import { bootstrapRootToken, createToken, entryByAccessor, hashToken, lookupToken, renewEntry, revokeEntry, useToken } from "../../service/auth/tokens";
import { aclOf, deletePolicy, listPolicies, readPolicy, writePolicy } from "../../service/auth/policies";
import { memoryContext } from "./support/memoryEngine";
import type { ServiceContext } from "../../service/context";

let ctx: ServiceContext;
let clock: { ms: number };

beforeEach(() => {
  ({ ctx, clock } = memoryContext());
});

async function rootEntry() {
  const { token } = await bootstrapRootToken(ctx);
  return (await lookupToken(ctx, token!))!;
}

describe("tokens", () => {
  it("the root token is made once, and only its hash is stored", async () => {
    const first = await bootstrapRootToken(ctx);
    expect(first.token).toMatch(/^hvs\.[0-9A-Za-z]{32}$/);
    expect(await bootstrapRootToken(ctx)).toEqual({ created: false });
    const { dir } = await ctx.store.files("auth", "tokens");
    const root = join(ctx.home, "auth", dir);
    const files = readdirSync(root);
    expect(files).toEqual([`${hashToken(first.token!)}.json`]);
    expect(readFileSync(join(root, files[0]), "utf8")).not.toContain(first.token!.slice(4));
    expect((await useToken(ctx, first.token!))?.policies).toEqual(["root"]);
  });

  it("AWSLEASE_ROOT_TOKEN's value becomes the root token", async () => {
    await bootstrapRootToken(ctx, "a-root-token-from-the-environment");
    expect((await useToken(ctx, "a-root-token-from-the-environment"))?.policies).toEqual(["root"]);
    expect(await useToken(ctx, "another-token-of-the-same-length!")).toBeUndefined();
  });

  it("child tokens: default policy added, subset of the parent's, TTL capped by the parent's", async () => {
    const root = await rootEntry();
    const ci = await createToken(ctx, root, { policies: ["deploy"], ttl: "1h", displayName: "ci job" });
    expect(ci.entry).toMatchObject({ policies: ["default", "deploy"], ttl: 3600, displayName: "token-ci-job", renewable: true, parent: root.accessor });
    await expect(createToken(ctx, ci.entry, { policies: ["admin"] })).rejects.toThrow(/subset of the parent's: admin/);
    await expect(createToken(ctx, ci.entry, { policies: ["root"] })).rejects.toThrow(/root/);
    await expect(createToken(ctx, ci.entry, { id: "choose-my-own-token-id" })).rejects.toThrow(/only a root token/);
    const child = await createToken(ctx, ci.entry, { ttl: "5h" });
    expect(child.entry.ttl).toBe(3600);
    // Root with other policies is root alone (Vault's ACL refuses the mix).
    expect((await createToken(ctx, root, { policies: ["root", "deploy"] })).entry.policies).toEqual(["root"]);
  });

  it("expire at their TTL, and num_uses counts down to revocation", async () => {
    const root = await rootEntry();
    const short = await createToken(ctx, root, { ttl: "10m" });
    const once = await createToken(ctx, root, { numUses: 2 });
    expect(await useToken(ctx, once.token)).toBeDefined();
    expect(await useToken(ctx, once.token)).toBeDefined();
    expect(await useToken(ctx, once.token)).toBeUndefined();
    clock.ms += 9 * 60_000;
    expect(await useToken(ctx, short.token)).toBeDefined();
    clock.ms += 2 * 60_000;
    expect(await useToken(ctx, short.token)).toBeUndefined();
    expect(await entryByAccessor(ctx, short.entry.accessor)).toBeUndefined();
  });

  it("renew moves the expiry; revoke takes the children along", async () => {
    const root = await rootEntry();
    const parent = await createToken(ctx, root, { ttl: "1h" });
    const child = await createToken(ctx, parent.entry, { ttl: "30m" });
    clock.ms += 50 * 60_000;
    const renewed = await renewEntry(ctx, parent.entry, "1h");
    expect(Date.parse(renewed.expiresAt!)).toBe(clock.ms + 3600_000);
    await expect(renewEntry(ctx, root)).rejects.toThrow(/not renewable/);
    await revokeEntry(ctx, renewed);
    expect(await lookupToken(ctx, parent.token)).toBeUndefined();
    expect(await lookupToken(ctx, child.token)).toBeUndefined();
  });
});

describe("policies", () => {
  it("are stored as written, parsed on write, and make the token's ACL", async () => {
    await writePolicy(ctx, "Deploy", JSON.stringify({ path: { "aws/creds/deploy": { capabilities: ["read"] } } }));
    expect(await listPolicies(ctx)).toEqual(["default", "deploy", "root"]);
    expect(await readPolicy(ctx, "deploy")).toContain("aws/creds/deploy");
    await expect(writePolicy(ctx, "bad", JSON.stringify({ path: { "aws/*/x": { capabilities: ["read"] } } }))).rejects.toThrow(
      /only allowed as the last character/,
    );
    await expect(writePolicy(ctx, "root", "{}")).rejects.toThrow(/cannot update the "root" policy/);
    await expect(deletePolicy(ctx, "default")).rejects.toThrow(/cannot delete/);
    const acl = await aclOf(ctx, ["default", "deploy", "gone"]);
    expect(acl.allowed("aws/creds/deploy", "read")).toBe(true);
    expect(acl.allowed("aws/creds/other", "read")).toBe(false);
    expect(acl.allowed("auth/token/lookup-self", "read")).toBe(true);
    await deletePolicy(ctx, "deploy");
    expect((await aclOf(ctx, ["default", "deploy"])).allowed("aws/creds/deploy", "read")).toBe(false);
    expect((await aclOf(ctx, ["root"])).allowed("sys/mounts/x", "sudo")).toBe(true);
  });
});
