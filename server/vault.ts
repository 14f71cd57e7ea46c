// Vault's HTTP conventions, for the server's routes: which logical operation a
// request is (Vault routes by operation, not by HTTP method: LIST and GET ?list=true
// are both "list"), the JSON envelope of every answer, and the error shape and status
// codes Vault's clients expect.
import { randomUUID } from "node:crypto";
import type { IncomingMessage, ServerResponse } from "node:http";

export type Operation = "read" | "list" | "update" | "delete";

/** The operation of a request, or undefined for a method Vault does not serve (405). */
export function operationOf(method: string | undefined, query: URLSearchParams): Operation | undefined {
  switch (method) {
    case "GET":
    case "HEAD":
      return ["true", "1"].includes(query.get("list") ?? "") ? "list" : "read";
    case "LIST":
      return "list";
    case "POST":
    case "PUT":
      return "update";
    case "DELETE":
      return "delete";
    default:
      return undefined;
  }
}

/** An error answer: `{"errors":[message]}` with Vault's status code. */
export class HttpError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
    this.name = "HttpError";
  }
}

export const permissionDenied = () => new HttpError(403, "permission denied");

/** What a route answers: the parts of Vault's envelope it fills; the rest are Vault's defaults. */
export interface VaultAnswer {
  data?: Record<string, unknown> | null;
  leaseId?: string;
  leaseDuration?: number;
  renewable?: boolean;
  auth?: Record<string, unknown> | null;
  warnings?: string[];
  /** 204 (no body) for writes that return nothing, as Vault does. */
  status?: 200 | 204;
  /** Sent as is, not in the envelope (sys/health). */
  raw?: { status: number; body: unknown };
}

export function envelope(answer: VaultAnswer, mountType = ""): Record<string, unknown> {
  return {
    request_id: randomUUID(),
    lease_id: answer.leaseId ?? "",
    renewable: answer.renewable ?? false,
    lease_duration: answer.leaseDuration ?? 0,
    data: answer.data ?? null,
    wrap_info: null,
    warnings: answer.warnings && answer.warnings.length > 0 ? answer.warnings : null,
    auth: answer.auth ?? null,
    mount_type: mountType,
  };
}

export function sendJson(res: ServerResponse, status: number, body: unknown): void {
  const text = body === undefined ? "" : `${JSON.stringify(body)}\n`;
  res.writeHead(status, {
    "Content-Type": "application/json",
    "Cache-Control": "no-store",
    ...(text ? { "Content-Length": Buffer.byteLength(text) } : {}),
  });
  res.end(text);
}

/** Request bodies larger than this are refused (413): no route takes more than a policy document. */
export const MAX_BODY_BYTES = 1024 * 1024;

/** The request's JSON body (an object), {} when empty; 400 for JSON that is not an object, 413 when too large. */
export async function readBody(req: IncomingMessage): Promise<Record<string, unknown>> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    size += (chunk as Buffer).length;
    if (size > MAX_BODY_BYTES) throw new HttpError(413, `request body larger than ${MAX_BODY_BYTES} bytes`);
    chunks.push(chunk as Buffer);
  }
  const text = Buffer.concat(chunks).toString("utf8").trim();
  if (text === "") return {};
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    throw new HttpError(400, "failed to parse JSON input");
  }
  if (!value || typeof value !== "object" || Array.isArray(value)) throw new HttpError(400, "failed to parse JSON input: not an object");
  return value as Record<string, unknown>;
}

/** The client token: Vault's X-Vault-Token header, or `Authorization: Bearer`. */
export function clientToken(req: IncomingMessage): string | undefined {
  const header = req.headers["x-vault-token"];
  const token = Array.isArray(header) ? header[0] : header;
  if (token) return token.trim();
  const auth = req.headers.authorization;
  const m = auth ? /^Bearer\s+(\S+)$/i.exec(auth) : null;
  return m ? m[1] : undefined;
}
