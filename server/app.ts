// `awslease server`: Vault's HTTP API over the lease service. Each request: the path
// after /v1/, its operation, the caller's token, the route, the ACL check, the handler,
// and one audit line. Engine-heavy requests (writes) run at most `maxConcurrent` at a
// time; up to `maxQueued` more wait, and beyond that the answer is 503, as Vault under
// load. Secrets never reach an error body or the audit log: handlers' errors are the
// service's one-line messages, which hold none.
import { createServer as createHttpServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import { createServer as createHttpsServer } from "node:https";
import { EngineError, StackLockedError, ValidationError } from "../provider/errors";
import type { ServiceContext } from "../service/context";
import { useToken, type TokenEntry } from "../service/auth/tokens";
import { aclOf } from "../service/auth/policies";
import { HttpError, clientToken, envelope, operationOf, permissionDenied, readBody, sendJson, type Operation, type VaultAnswer } from "./vault";
import { capabilityFor, matchRoute, notFound, type Route, type RouteRequest } from "./routes";
import { engineRoutes } from "./routes/engine";
import { healthAnswer, sysRoutes } from "./routes/sys";
import { tokenRoutes } from "./routes/token";
import { acceptListMethod } from "./listMethod";
import { serveUi } from "./ui";

export const ROUTES: readonly Route[] = [...sysRoutes, ...tokenRoutes, ...engineRoutes];

/** One audit line (Vault's audit device, simplified): never a token or a secret, only the token's accessor. */
export interface AuditEntry {
  time: string;
  remote: string;
  operation: Operation | string;
  path: string;
  status: number;
  accessor?: string;
  display_name?: string;
  lease_id?: string;
  error?: string;
  ms: number;
}

export interface ServerOptions {
  ctx: ServiceContext;
  tls?: { cert: Buffer; key: Buffer };
  /** Engine-heavy requests at once. */
  maxConcurrent: number;
  /** Requests waiting for a slot before 503s. */
  maxQueued: number;
  audit: (entry: AuditEntry) => void;
}

export interface VaultServer {
  server: Server;
  /** Stops taking requests (health answers 503) and resolves when those in flight are done. */
  drain(): Promise<void>;
  inFlight(): number;
}

/** A counting semaphore with a bounded queue. */
function limiter(max: number, maxQueued: number) {
  let running = 0;
  const waiting: (() => void)[] = [];
  return {
    async run<T>(fn: () => Promise<T>): Promise<T> {
      if (running >= max) {
        if (waiting.length >= maxQueued) throw new HttpError(503, `too many requests in progress (${running} running, ${waiting.length} queued): retry later`);
        await new Promise<void>((resolve) => waiting.push(resolve));
      }
      running++;
      try {
        return await fn();
      } finally {
        running--;
        waiting.shift()?.();
      }
    },
  };
}

/** Vault's status for an error: bad input 400, a stack held by another run 503, the engine or AWS 500. */
function statusOf(err: unknown): number {
  if (err instanceof HttpError) return err.status;
  if (err instanceof ValidationError) return 400;
  if (err instanceof StackLockedError) return 503;
  if (err instanceof EngineError) return 500;
  return 500;
}

export function createVaultServer(opts: ServerOptions): VaultServer {
  const gate = limiter(opts.maxConcurrent, opts.maxQueued);
  let draining = false;
  let active = 0;
  let idle: (() => void) | undefined;

  async function answer(
    req: IncomingMessage,
    url: URL,
    path: string,
    operation: Operation,
  ): Promise<{ answer: VaultAnswer; token?: TokenEntry; leaseId?: string }> {
    if (path === "sys/health") return { answer: healthAnswer(opts.ctx.now(), draining) };
    if (draining) throw new HttpError(503, "the server is shutting down");
    const sent = clientToken(req);
    const token = sent ? await useToken(opts.ctx, sent) : undefined;
    if (!token || !sent) throw permissionDenied();
    const found = matchRoute(ROUTES, path);
    if (!found) throw notFound(path);
    const handler = found.route.handlers[operation];
    if (!handler) throw new HttpError(405, "unsupported operation");
    const body = operation === "read" || operation === "list" ? Object.fromEntries(url.searchParams) : await readBody(req);
    const ctx = found.params.mount ? { ...opts.ctx, mount: found.params.mount } : opts.ctx;
    const request: RouteRequest = { ctx, operation, params: found.params, body, token, clientToken: sent };
    const acl = await aclOf(opts.ctx, token.policies);
    const exists = operation === "update" && found.route.exists ? await found.route.exists(request) : true;
    const listRequest = operation === "list";
    if (!acl.allowed(path, capabilityFor(operation, exists), { listRequest }) || (found.route.sudo && !acl.allowed(path, "sudo", { listRequest }))) {
      throw permissionDenied();
    }
    const run = () => handler(request);
    const result = operation === "update" || operation === "delete" ? await gate.run(run) : await run();
    return { answer: result, token, leaseId: result.leaseId ?? (typeof body.lease_id === "string" ? body.lease_id : undefined) };
  }

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const started = Date.now();
    const remote = req.socket?.remoteAddress ?? "";
    active++;
    const url = new URL(req.url ?? "/", "http://awslease");
    if ((req.method === "GET" || req.method === "HEAD") && !url.pathname.startsWith("/v1/") && serveUi(url.pathname, res)) {
      active--;
      if (active === 0) idle?.();
      return;
    }
    const path = url.pathname.startsWith("/v1/") ? url.pathname.slice("/v1/".length).replace(/\/+$/, (m) => (m ? "/" : "")) : "";
    const operation = operationOf(req.method, url.searchParams);
    let status = 500;
    let token: TokenEntry | undefined;
    let leaseId: string | undefined;
    let error: string | undefined;
    try {
      if (!path) throw new HttpError(404, "not found: the API is under /v1/");
      if (!operation) throw new HttpError(405, "unsupported operation");
      const out = await answer(req, url, path, operation);
      token = out.token;
      leaseId = out.leaseId;
      if (out.answer.raw) {
        status = out.answer.raw.status;
        sendJson(res, status, out.answer.raw.body);
      } else if (out.answer.status === 204) {
        status = 204;
        res.writeHead(204, { "Cache-Control": "no-store" }).end();
      } else {
        status = 200;
        sendJson(res, 200, envelope(out.answer, path.startsWith("sys/") || path.startsWith("auth/") ? "" : "aws"));
      }
    } catch (err) {
      status = statusOf(err);
      // One line, as the CLI's errors; a bare 404 (a missing role) has no message, as in Vault.
      error = (err as Error).message?.split("\n")[0] ?? String(err);
      if (!res.headersSent) sendJson(res, status, { errors: error ? [error] : [] });
      else res.destroy();
    } finally {
      opts.audit({
        time: new Date(started).toISOString(),
        remote,
        operation: operation ?? String(req.method),
        path,
        status,
        ...(token ? { accessor: token.accessor, display_name: token.displayName } : {}),
        ...(leaseId ? { lease_id: leaseId } : {}),
        ...(error ? { error } : {}),
        ms: Date.now() - started,
      });
      active--;
      if (active === 0) idle?.();
    }
  }

  const listener = (req: IncomingMessage, res: ServerResponse) => void handle(req, res);
  const server = opts.tls ? createHttpsServer({ cert: opts.tls.cert, key: opts.tls.key }, listener) : createHttpServer(listener);
  acceptListMethod(server);
  // Slow or idle clients cannot hold connections open for ever.
  server.headersTimeout = 20_000;
  server.requestTimeout = 10 * 60_000;
  server.keepAliveTimeout = 5_000;

  return {
    server,
    inFlight: () => active,
    drain() {
      draining = true;
      server.close();
      server.closeIdleConnections();
      if (active === 0) return Promise.resolve();
      return new Promise<void>((resolve) => (idle = resolve));
    },
  };
}
