// The CLI as a client of `awslease server`: with AWSLEASE_ADDR (and AWSLEASE_TOKEN) set,
// issue, exec, credential-process, `lease *` and `role read|list` go through the server's
// Vault API instead of the engine, so a CI runner needs a scoped token, not the
// passphrase or the root credentials.
import { isIP } from "node:net";
import type { CredentialType, IssuedLease } from "../provider/types";
import { EngineError, ValidationError } from "../provider/errors";
import { parseLeaseId } from "../provider/names";
import type { LeaseInput } from "../provider/validation";
import type { LeaseSummary } from "../service/leaseRecord";

export interface ServerAddress {
  addr: string;
  token: string;
}

/** The server to use, from AWSLEASE_ADDR and AWSLEASE_TOKEN (or VAULT_TOKEN); undefined: run locally. */
export function serverAddress(env: NodeJS.ProcessEnv = process.env): ServerAddress | undefined {
  const addr = env.AWSLEASE_ADDR?.trim();
  if (!addr) return undefined;
  let url: URL;
  try {
    url = new URL(addr);
  } catch {
    throw new ValidationError([{ field: "AWSLEASE_ADDR", reason: `"${addr}" is not a URL (e.g. https://awslease.internal:8200)` }]);
  }
  if (url.protocol !== "https:" && url.protocol !== "http:") throw new ValidationError([{ field: "AWSLEASE_ADDR", reason: "must be an http(s):// URL" }]);
  const host = url.hostname.replace(/^\[|\]$/g, "");
  const loopback = host === "localhost" || host === "::1" || (isIP(host) === 4 && host.startsWith("127."));
  // The token would cross the network in clear text.
  if (url.protocol === "http:" && !loopback)
    throw new ValidationError([{ field: "AWSLEASE_ADDR", reason: "plain http is only for loopback addresses: use https://" }]);
  const token = env.AWSLEASE_TOKEN || env.VAULT_TOKEN;
  if (!token) throw new ValidationError([{ field: "AWSLEASE_TOKEN", reason: "set AWSLEASE_TOKEN (a server token) to use AWSLEASE_ADDR" }]);
  return { addr: addr.replace(/\/+$/, ""), token };
}

interface VaultBody {
  lease_id?: string;
  lease_duration?: number;
  renewable?: boolean;
  data?: Record<string, unknown> | null;
  warnings?: string[] | null;
  errors?: string[];
}

export class ServerClient {
  constructor(private readonly at: ServerAddress) {}

  /** One API call; 4xx answers are the user's to fix (exit 1), the rest are the server's (exit 2). */
  async call(method: string, path: string, body?: Record<string, unknown>): Promise<VaultBody | undefined> {
    let res: Response;
    try {
      res = await fetch(`${this.at.addr}/v1/${path}`, {
        method,
        headers: { "X-Vault-Token": this.at.token, ...(body ? { "Content-Type": "application/json" } : {}) },
        body: body ? JSON.stringify(body) : undefined,
      });
    } catch (err) {
      const cause = (err as { cause?: { code?: string; message?: string } }).cause;
      throw new EngineError(`cannot reach the awslease server at ${this.at.addr}: ${cause?.code ?? cause?.message ?? (err as Error).message}`);
    }
    const text = await res.text();
    let parsed: VaultBody | undefined;
    try {
      parsed = text ? (JSON.parse(text) as VaultBody) : undefined;
    } catch {
      throw new EngineError(`the awslease server at ${this.at.addr} answered ${res.status} with something that is not JSON`);
    }
    if (res.ok) return parsed;
    const message = parsed?.errors?.[0] || `${res.status} ${res.statusText}`;
    if (res.status === 403) throw new ValidationError([{ field: "AWSLEASE_TOKEN", reason: `the server refused ${method} ${path}: ${message}` }]);
    if (res.status === 404) throw new ValidationError([{ field: "server", reason: `${path}: not found${parsed?.errors?.[0] ? `: ${message}` : ""}` }]);
    if (res.status >= 400 && res.status < 500) throw new ValidationError([{ field: "server", reason: message }]);
    throw new EngineError(`the awslease server failed ${method} ${path} (${res.status}): ${message}`);
  }

  /** `creds/:role`; with a reuse session, the server hands out a live lease of the same token and session (awslease's addition to the API). */
  async issue(
    mount: string,
    role: string,
    input: LeaseInput,
    reuse?: { session: string; refreshWindow?: string },
  ): Promise<{ lease: IssuedLease; region?: string; reused: boolean }> {
    const started = Date.now();
    const body = await this.call("POST", `${mount}/creds/${encodeURIComponent(role)}`, {
      ttl: input.ttl,
      role_arn: input.roleArn,
      role_session_name: input.roleSessionName,
      mfa_code: input.mfaCode,
      ...(reuse ? { reuse_session: reuse.session, refresh_window: reuse.refreshWindow } : {}),
    });
    const data = (body?.data ?? {}) as Record<string, string | boolean | null | undefined>;
    const duration = body?.lease_duration ?? 0;
    const lease: IssuedLease = {
      leaseId: body?.lease_id ?? "",
      credentialType: (data.credential_type as CredentialType) ?? "iam_user",
      accessKey: String(data.access_key ?? ""),
      secretKey: String(data.secret_key ?? ""),
      ...(data.session_token ? { sessionToken: String(data.session_token) } : {}),
      ...(data.arn ? { arn: String(data.arn) } : {}),
      ...(data.arn ? { username: String(data.arn).split("/").pop() } : {}),
      issuedAt: new Date(started).toISOString(),
      expiresAt: typeof data.expires_at === "string" ? data.expires_at : new Date(started + duration * 1000).toISOString(),
      leaseDuration: duration,
      renewable: body?.renewable ?? false,
      warnings: body?.warnings ?? [],
    };
    if (!lease.leaseId || !lease.accessKey) throw new EngineError("the awslease server's answer has no lease");
    return { lease, region: typeof data.region === "string" ? data.region : undefined, reused: data.reused === true };
  }

  async revoke(leaseId: string): Promise<{ warnings: string[] }> {
    const body = await this.call("PUT", "sys/leases/revoke", { lease_id: leaseId });
    return { warnings: body?.warnings ?? [] };
  }

  async renew(leaseId: string, increment: string | undefined): Promise<{ warnings: string[] }> {
    const body = await this.call("PUT", "sys/leases/renew", { lease_id: leaseId, ...(increment ? { increment } : {}) });
    return { warnings: body?.warnings ?? [] };
  }

  /** A lease as `lease lookup` shows it, from sys/leases/lookup (the role and mount come from its id). */
  async lookup(leaseId: string): Promise<LeaseSummary> {
    const data = (await this.call("PUT", "sys/leases/lookup", { lease_id: leaseId }))?.data ?? {};
    const { mount, role } = parseLeaseId(leaseId);
    const expiresAt = String(data.expire_time ?? "");
    return {
      leaseId,
      role,
      mount,
      credentialType: typeof data.credential_type === "string" ? data.credential_type : "",
      issuedAt: String(data.issue_time ?? ""),
      expiresAt,
      leaseDuration: Number(data.ttl ?? 0),
      renewable: data.renewable === true,
      expired: Date.parse(expiresAt) <= Date.now(),
      ...(typeof data.irrevocable === "string" ? { irrevocable: data.irrevocable } : {}),
    };
  }

  /** Every lease id under a prefix: Vault's LIST sys/leases/lookup, one level at a time. */
  async leaseIds(prefix: string): Promise<string[]> {
    const ids: string[] = [];
    const walk = async (at: string) => {
      let keys: string[];
      try {
        keys = ((await this.call("GET", `sys/leases/lookup/${at}?list=true`))?.data?.keys as string[]) ?? [];
      } catch (err) {
        if (err instanceof ValidationError && /not found/.test(err.message)) return;
        throw err;
      }
      for (const key of keys) {
        if (key.endsWith("/")) await walk(`${at}${key}`);
        else ids.push(`${at}${key}`);
      }
    };
    await walk(prefix.endsWith("/") ? prefix : `${prefix}/`);
    return ids.sort();
  }

  readRole(mount: string, name: string): Promise<VaultBody | undefined> {
    return this.call("GET", `${mount}/roles/${encodeURIComponent(name)}`);
  }

  listRoles(mount: string): Promise<string[]> {
    return this.listKeys(`${mount}/roles`);
  }

  readStaticRole(mount: string, name: string): Promise<VaultBody | undefined> {
    return this.call("GET", `${mount}/static-roles/${encodeURIComponent(name)}`);
  }

  listStaticRoles(mount: string): Promise<string[]> {
    return this.listKeys(`${mount}/static-roles`);
  }

  /** static-creds/:name: the current key and its next rotation (no lease). */
  async staticCreds(mount: string, name: string): Promise<{ accessKey: string; secretKey: string; expiration: string }> {
    const data = (await this.call("GET", `${mount}/static-creds/${encodeURIComponent(name)}`))?.data ?? {};
    return { accessKey: String(data.access_key ?? ""), secretKey: String(data.secret_key ?? ""), expiration: String(data.expiration ?? "") };
  }

  /** A LIST; Vault answers an empty one with 404. */
  private async listKeys(path: string): Promise<string[]> {
    try {
      return ((await this.call("GET", `${path}?list=true`))?.data?.keys as string[]) ?? [];
    } catch (err) {
      if (err instanceof ValidationError && /not found/.test(err.message)) return [];
      throw err;
    }
  }
}

/** The server client when AWSLEASE_ADDR is set. */
export function serverClient(env: NodeJS.ProcessEnv = process.env): ServerClient | undefined {
  const at = serverAddress(env);
  return at ? new ServerClient(at) : undefined;
}

/** A command that only runs against the state backend itself. */
export function localOnly(command: string): void {
  if (process.env.AWSLEASE_ADDR) {
    throw new ValidationError([
      {
        field: "AWSLEASE_ADDR",
        reason: `\`${command}\` runs against the state backend, not through a server: unset AWSLEASE_ADDR (the server's own API has the same operation)`,
      },
    ]);
  }
}
