// Vault's token auth method (auth/token/*): create, lookup, renew and revoke tokens.
import { ValidationError } from "../../provider/errors";
import { createToken, entryByAccessor, lookupToken, renewEntry, revokeEntry, type TokenEntry } from "../../service/auth/tokens";
import { HttpError } from "../vault";
import { listField, requiredField, stringField, type Route, type RouteRequest } from "../routes";

function ttlLeft(r: RouteRequest, entry: TokenEntry): number {
  return entry.expiresAt ? Math.max(0, Math.floor((Date.parse(entry.expiresAt) - r.ctx.now()) / 1000)) : 0;
}

/** The `auth` block of Vault's answer to a token create or renew. */
function authBlock(r: RouteRequest, entry: TokenEntry, token?: string) {
  return {
    client_token: token ?? "",
    accessor: entry.accessor,
    policies: entry.policies,
    token_policies: entry.policies,
    metadata: entry.meta,
    lease_duration: ttlLeft(r, entry),
    renewable: entry.renewable,
    entity_id: "",
    token_type: "service",
    orphan: !entry.parent,
    num_uses: entry.numUses,
  };
}

/** Vault's token lookup data. `id` (the token itself) only for the caller's own token or one it named. */
function lookupData(r: RouteRequest, entry: TokenEntry, id?: string) {
  return {
    id: id ?? "",
    accessor: entry.accessor,
    creation_time: Math.floor(Date.parse(entry.createdAt) / 1000),
    creation_ttl: entry.ttl,
    display_name: entry.displayName,
    entity_id: "",
    expire_time: entry.expiresAt ?? null,
    explicit_max_ttl: 0,
    issue_time: entry.createdAt,
    meta: entry.meta,
    num_uses: entry.numUses,
    orphan: !entry.parent,
    path: entry.parent ? "auth/token/create" : "",
    policies: entry.policies,
    renewable: entry.renewable,
    ttl: ttlLeft(r, entry),
    type: "service",
  };
}

function metaField(body: Record<string, unknown>): Record<string, string> | undefined {
  const meta = body.meta;
  if (meta === undefined || meta === null) return undefined;
  if (typeof meta !== "object" || Array.isArray(meta) || Object.values(meta).some((v) => typeof v !== "string")) {
    throw new ValidationError([{ field: "meta", reason: "must be an object of strings" }]);
  }
  return meta as Record<string, string>;
}

function numUsesField(body: Record<string, unknown>): number | undefined {
  const value = body.num_uses;
  if (value === undefined || value === null || value === "") return undefined;
  const n = typeof value === "string" ? Number(value) : value;
  if (typeof n !== "number" || !Number.isSafeInteger(n) || n < 0) throw new ValidationError([{ field: "num_uses", reason: "must be a whole number >= 0" }]);
  return n;
}

async function tokenNamed(r: RouteRequest): Promise<{ entry: TokenEntry; token: string }> {
  const token = requiredField(r.body, "token");
  const entry = await lookupToken(r.ctx, token);
  if (!entry) throw new HttpError(403, "bad token");
  return { entry, token };
}

async function tokenByAccessor(r: RouteRequest): Promise<TokenEntry> {
  const entry = await entryByAccessor(r.ctx, requiredField(r.body, "accessor"));
  if (!entry) throw new ValidationError([{ field: "accessor", reason: "invalid accessor" }]);
  return entry;
}

export const tokenRoutes: Route[] = [
  {
    pattern: /^auth\/token\/create(?:-orphan)?$/,
    handlers: {
      update: async (r) => {
        const renewable = r.body.renewable;
        if (renewable !== undefined && typeof renewable !== "boolean") throw new ValidationError([{ field: "renewable", reason: "must be true or false" }]);
        const { token, entry } = await createToken(r.ctx, r.token, {
          policies: listField(r.body, "policies"),
          ttl: stringField(r.body, "ttl"),
          displayName: stringField(r.body, "display_name"),
          numUses: numUsesField(r.body),
          renewable: renewable as boolean | undefined,
          meta: metaField(r.body),
          id: stringField(r.body, "id"),
        });
        return { auth: authBlock(r, entry, token) };
      },
    },
  },
  {
    pattern: /^auth\/token\/lookup-self$/,
    handlers: {
      read: async (r) => ({ data: lookupData(r, r.token, r.clientToken) }),
      update: async (r) => ({ data: lookupData(r, r.token, r.clientToken) }),
    },
  },
  {
    pattern: /^auth\/token\/lookup$/,
    handlers: {
      update: async (r) => {
        const { entry, token } = await tokenNamed(r);
        return { data: lookupData(r, entry, token) };
      },
    },
  },
  {
    pattern: /^auth\/token\/lookup-accessor$/,
    handlers: { update: async (r) => ({ data: lookupData(r, await tokenByAccessor(r)) }) },
  },
  {
    pattern: /^auth\/token\/renew-self$/,
    handlers: { update: async (r) => ({ auth: authBlock(r, await renewEntry(r.ctx, r.token, stringField(r.body, "increment"))) }) },
  },
  {
    pattern: /^auth\/token\/renew$/,
    handlers: {
      update: async (r) => {
        const { entry } = await tokenNamed(r);
        return { auth: authBlock(r, await renewEntry(r.ctx, entry, stringField(r.body, "increment"))) };
      },
    },
  },
  {
    pattern: /^auth\/token\/revoke-self$/,
    handlers: {
      update: async (r) => {
        await revokeEntry(r.ctx, r.token);
        return { status: 204 };
      },
    },
  },
  {
    pattern: /^auth\/token\/revoke$/,
    handlers: {
      update: async (r) => {
        // An unknown token is no error: it is not valid either way (as Vault).
        const entry = await lookupToken(r.ctx, requiredField(r.body, "token"));
        if (entry) await revokeEntry(r.ctx, entry);
        return { status: 204 };
      },
    },
  },
  {
    pattern: /^auth\/token\/revoke-accessor$/,
    handlers: {
      update: async (r) => {
        await revokeEntry(r.ctx, await tokenByAccessor(r));
        return { status: 204 };
      },
    },
  },
];
