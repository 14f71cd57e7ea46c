// The server's routes: Vault's HTTP API for the AWS secrets engine, its leases, its
// tokens and its policies. Each handler parses the request's snake_case fields, calls
// the lease service and shapes Vault's answer; nothing here talks to AWS or the engine.
// Vault routes by logical operation (vault.ts operationOf), and so do these: a route
// is a path pattern with a handler per operation.
import type { Capability } from "../service/auth/acl";
import type { ServiceContext } from "../service/context";
import type { TokenEntry } from "../service/auth/tokens";
import { ValidationError } from "../provider/errors";
import { HttpError, type Operation, type VaultAnswer } from "./vault";

export interface RouteRequest {
  /** The service context; `mount` is the path's mount for mount routes. */
  ctx: ServiceContext;
  operation: Operation;
  /** The path's named parts (`mount`, `name`, `prefix`, `leaseId`). */
  params: Record<string, string>;
  /** The JSON body, or the query parameters of a read. */
  body: Record<string, unknown>;
  token: TokenEntry;
  /** The caller's token as sent (lookup-self answers it, as Vault does). */
  clientToken: string;
}

type Handler = (r: RouteRequest) => Promise<VaultAnswer>;

export interface Route {
  /** Matches the path after /v1/; named groups become params. */
  pattern: RegExp;
  handlers: Partial<Record<Operation, Handler>>;
  /** Needs a token with sudo on the path as well (Vault's root-protected paths). */
  sudo?: boolean;
  /** For writes: the capability is "create" when this says the target does not exist yet, else "update" (Vault's existence check). */
  exists?: (r: RouteRequest) => Promise<boolean>;
  /** Served without a token (sys/health). */
  unauthenticated?: boolean;
}

/** The capability an operation needs (writes: see Route.exists). */
export function capabilityFor(operation: Operation, exists: boolean): Capability {
  switch (operation) {
    case "read":
      return "read";
    case "list":
      return "list";
    case "delete":
      return "delete";
    case "update":
      return exists ? "update" : "create";
  }
}

/** A body field as a string, or undefined; anything else is a 400 naming it. */
export function stringField(body: Record<string, unknown>, name: string): string | undefined {
  const value = body[name];
  if (value === undefined || value === null || value === "") return undefined;
  if (typeof value === "number") return String(value);
  if (typeof value !== "string") throw new ValidationError([{ field: name, reason: "must be a string" }]);
  return value;
}

export function requiredField(body: Record<string, unknown>, name: string): string {
  const value = stringField(body, name);
  if (value === undefined) throw new ValidationError([{ field: name, reason: "is required" }]);
  return value;
}

/** A list field: a JSON array of strings or a comma-separated string (Vault takes both). */
export function listField(body: Record<string, unknown>, name: string): string[] | undefined {
  const value = body[name];
  if (value === undefined || value === null || value === "") return undefined;
  if (typeof value === "string")
    return value
      .split(",")
      .map((s) => s.trim())
      .filter(Boolean);
  if (Array.isArray(value) && value.every((v) => typeof v === "string")) return value as string[];
  throw new ValidationError([{ field: name, reason: "must be a list of strings or a comma-separated string" }]);
}

/** Finds the route of a path; undefined: Vault's 404 "no handler for route". */
export function matchRoute(routes: readonly Route[], path: string): { route: Route; params: Record<string, string> } | undefined {
  for (const route of routes) {
    const m = route.pattern.exec(path);
    if (m) return { route, params: Object.fromEntries(Object.entries(m.groups ?? {}).map(([k, v]) => [k, decodeURIComponent(v ?? "")])) };
  }
  return undefined;
}

export function notFound(path: string): HttpError {
  return new HttpError(404, `no handler for route "${path}". route entry not found.`);
}
