// Tokens, as Vault's token store has them: a token names its policies, display name,
// TTL and number of uses. Only the token's SHA-256 is stored (in the backend, under
// `.awslease/auth/`), so several servers sharing a backend accept the same tokens and
// nobody who reads the backend can use one. Tokens are 32 random base62 characters
// after Vault's `hvs.` prefix: far too many to guess, so a fast hash is enough.
import { createHash, randomBytes, timingSafeEqual } from "node:crypto";
import { ValidationError } from "../../provider/errors";
import { parseDuration } from "../../provider/duration";
import type { ServiceContext } from "../context";
import type { BackendStore } from "../store/backendStore";

export interface TokenEntry {
  /** SHA-256 of the token, hex. */
  hash: string;
  /** Names the token without being it (audit log, revoke by accessor). */
  accessor: string;
  policies: string[];
  displayName: string;
  createdAt: string;
  /** Seconds; 0: never expires (the root token). */
  ttl: number;
  expiresAt?: string;
  /** Uses left; 0: unlimited. */
  numUses: number;
  renewable: boolean;
  /** The accessor of the token that created this one (revoked with it). */
  parent?: string;
  meta: Record<string, string>;
}

export interface TokenRequest {
  policies?: string[];
  ttl?: string | number;
  displayName?: string;
  numUses?: number;
  renewable?: boolean;
  meta?: Record<string, string>;
  /** Only the root token may name the token (Vault's `id`): e.g. a root token from AWSLEASE_ROOT_TOKEN. */
  id?: string;
}

/** Vault's default (and maximum) token TTL: 32 days. */
export const DEFAULT_TOKEN_TTL = 32 * 24 * 3600;

const BASE62 = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";

function randomBase62(length: number): string {
  // 256 % 62 != 0: bytes >= 248 are dropped so every character is equally likely.
  let out = "";
  while (out.length < length) {
    for (const b of randomBytes(length * 2)) if (b < 248 && out.length < length) out += BASE62[b % 62];
  }
  return out;
}

export function hashToken(token: string): string {
  return createHash("sha256").update(token, "utf8").digest("hex");
}

function tokenFiles(ctx: ServiceContext): Promise<{ store: BackendStore; dir: string }> {
  return ctx.store.files("auth", "tokens");
}

async function writeEntry(ctx: ServiceContext, entry: TokenEntry, opts: { create?: boolean } = {}): Promise<void> {
  const { store, dir } = await tokenFiles(ctx);
  const text = `${JSON.stringify(entry)}\n`;
  await (opts.create ? store.create(`${dir}/${entry.hash}.json`, text) : store.put(`${dir}/${entry.hash}.json`, text));
}

async function readEntry(ctx: ServiceContext, hash: string): Promise<TokenEntry | undefined> {
  if (!/^[0-9a-f]{64}$/.test(hash)) return undefined;
  const { store, dir } = await tokenFiles(ctx);
  const got = await store.read(`${dir}/${hash}.json`);
  if (!got) return undefined;
  const entry = JSON.parse(got.content.toString("utf8")) as TokenEntry;
  // The file is named by the hash; the entry must say the same (a file copied under another name is no token).
  if (!timingSafeEqual(Buffer.from(entry.hash, "hex"), Buffer.from(hash, "hex"))) return undefined;
  return entry;
}

function expired(ctx: ServiceContext, entry: TokenEntry): boolean {
  return entry.expiresAt !== undefined && Date.parse(entry.expiresAt) <= ctx.now();
}

/**
 * Creates a token. A child token's policies must be a subset of its parent's (unless
 * the parent is root), and its TTL no longer than the parent's remaining TTL, as in Vault.
 */
export async function createToken(ctx: ServiceContext, parent: TokenEntry | undefined, req: TokenRequest): Promise<{ token: string; entry: TokenEntry }> {
  const parentIsRoot = !parent || parent.policies.includes("root");
  let policies = [...new Set((req.policies ?? parent?.policies ?? ["default"]).map((p) => p.trim().toLowerCase()).filter(Boolean))];
  // A root token carries the root policy alone (Vault's ACL refuses root with others).
  if (policies.includes("root")) policies = ["root"];
  else if (!policies.includes("default")) policies.push("default");
  if (policies.includes("root") && !parentIsRoot) throw new ValidationError([{ field: "policies", reason: "only a root token may create a root token" }]);
  if (!parentIsRoot) {
    const extra = policies.filter((p) => p !== "default" && !parent!.policies.includes(p));
    if (extra.length) throw new ValidationError([{ field: "policies", reason: `child policies must be a subset of the parent's: ${extra.join(", ")}` }]);
  }
  if (req.id !== undefined && !parentIsRoot) throw new ValidationError([{ field: "id", reason: "only a root token may choose a token's id" }]);
  if (req.id !== undefined && req.id.length < 16) throw new ValidationError([{ field: "id", reason: "a token must be at least 16 characters" }]);
  let ttl = req.ttl === undefined || req.ttl === "" ? (policies.includes("root") && !parent ? 0 : DEFAULT_TOKEN_TTL) : parseDuration(req.ttl, "ttl");
  if (parent?.expiresAt) {
    const left = Math.floor((Date.parse(parent.expiresAt) - ctx.now()) / 1000);
    if (ttl === 0 || ttl > left) ttl = Math.max(0, left);
  }
  const numUses = req.numUses ?? 0;
  if (!Number.isSafeInteger(numUses) || numUses < 0) throw new ValidationError([{ field: "num_uses", reason: `must be a whole number >= 0, got ${numUses}` }]);
  const token = req.id ?? `hvs.${randomBase62(32)}`;
  const now = ctx.now();
  const entry: TokenEntry = {
    hash: hashToken(token),
    accessor: randomBase62(24),
    policies: policies.sort(),
    displayName: `token${req.displayName ? `-${req.displayName.replace(/[^a-zA-Z0-9_.-]/g, "-")}` : ""}`,
    createdAt: new Date(now).toISOString(),
    ttl,
    ...(ttl > 0 ? { expiresAt: new Date(now + ttl * 1000).toISOString() } : {}),
    numUses,
    renewable: req.renewable ?? ttl > 0,
    ...(parent ? { parent: parent.accessor } : {}),
    meta: req.meta ?? {},
  };
  await writeEntry(ctx, entry, { create: true });
  const { store, dir } = await ctx.store.files("auth", "accessors");
  await store.put(`${dir}/${entry.accessor}.json`, `${JSON.stringify({ hash: entry.hash })}\n`);
  return { token, entry };
}

/** The live entry of a token, or undefined (unknown, expired or used up). Counts one use. */
export async function useToken(ctx: ServiceContext, token: string): Promise<TokenEntry | undefined> {
  const entry = await readEntry(ctx, hashToken(token));
  if (!entry) return undefined;
  if (expired(ctx, entry)) {
    await revokeEntry(ctx, entry).catch(() => undefined);
    return undefined;
  }
  if (entry.numUses > 0) {
    // The last use revokes the token, as in Vault.
    if (entry.numUses === 1) await revokeEntry(ctx, entry);
    else await writeEntry(ctx, { ...entry, numUses: entry.numUses - 1 });
  }
  return entry;
}

/** A token's entry by accessor, or undefined. */
export async function entryByAccessor(ctx: ServiceContext, accessor: string): Promise<TokenEntry | undefined> {
  if (!/^[0-9A-Za-z]{1,64}$/.test(accessor)) return undefined;
  const { store, dir } = await ctx.store.files("auth", "accessors");
  const got = await store.read(`${dir}/${accessor}.json`);
  if (!got) return undefined;
  return readEntry(ctx, (JSON.parse(got.content.toString("utf8")) as { hash: string }).hash);
}

/** The token's entry without using it (lookup of another token). */
export async function lookupToken(ctx: ServiceContext, token: string): Promise<TokenEntry | undefined> {
  const entry = await readEntry(ctx, hashToken(token));
  return entry && !expired(ctx, entry) ? entry : undefined;
}

/** Revokes a token and, as in Vault, every token it created. */
export async function revokeEntry(ctx: ServiceContext, entry: TokenEntry): Promise<void> {
  const [tokens, accessors] = await Promise.all([tokenFiles(ctx), ctx.store.files("auth", "accessors")]);
  const children = (await tokens.store.list(tokens.dir)).map((f) => f.name.replace(/\.json$/, ""));
  for (const hash of children) {
    const child = await readEntry(ctx, hash).catch(() => undefined);
    if (child?.parent === entry.accessor) await revokeEntry(ctx, child);
  }
  await tokens.store.remove(`${tokens.dir}/${entry.hash}.json`);
  await accessors.store.remove(`${accessors.dir}/${entry.accessor}.json`);
}

/** Moves a renewable token's expiry to now + increment (default its TTL), capped at the maximum TTL from its creation, as Vault does. */
export async function renewEntry(ctx: ServiceContext, entry: TokenEntry, increment?: string | number): Promise<TokenEntry> {
  if (!entry.renewable || entry.ttl === 0) throw new ValidationError([{ field: "token", reason: "this token is not renewable" }]);
  const seconds = increment === undefined || increment === "" ? entry.ttl : parseDuration(increment, "increment");
  const maxEnd = Date.parse(entry.createdAt) + DEFAULT_TOKEN_TTL * 1000;
  const end = Math.min(ctx.now() + seconds * 1000, maxEnd);
  const renewed = { ...entry, expiresAt: new Date(end).toISOString() };
  await writeEntry(ctx, renewed);
  return renewed;
}

/**
 * The root token at first start: AWSLEASE_ROOT_TOKEN's value if set (stored as its
 * hash), else a new one that is returned once to be printed. Undefined when a root
 * token exists already.
 */
export async function bootstrapRootToken(ctx: ServiceContext, given?: string): Promise<{ token?: string; created: boolean }> {
  const { store, dir } = await ctx.store.files("auth", "root");
  const marker = `${dir}/root.json`;
  if (given !== undefined) {
    const exists = await readEntry(ctx, hashToken(given));
    if (exists) return { created: false };
    await createToken(ctx, undefined, { policies: ["root"], id: given, displayName: "root" });
    await store.put(marker, `${JSON.stringify({ createdAt: new Date(ctx.now()).toISOString() })}\n`);
    return { created: true };
  }
  if (await store.exists(marker)) return { created: false };
  const { token } = await createToken(ctx, undefined, { policies: ["root"], displayName: "root" });
  await store.put(marker, `${JSON.stringify({ createdAt: new Date(ctx.now()).toISOString() })}\n`);
  return { token, created: true };
}
