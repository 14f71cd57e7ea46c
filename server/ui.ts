// The web UI at /ui: static files from the package (server/ui/, no build step, no CDN),
// plus fields.json, the role and config field tables the forms are drawn from (the same
// ROLE_FIELDS and CONFIG_FIELDS the CLI and the API use). The UI talks to /v1 with the
// token the user signs in with; a strict Content-Security-Policy allows nothing else.
import { readFileSync } from "node:fs";
import { join, normalize } from "node:path";
import type { ServerResponse } from "node:http";
import { packageRoot } from "../provider/version";
import { ROLE_FIELDS } from "../provider/roleFields";
import { CONFIG_FIELDS } from "../provider/configFields";
import { CREDENTIAL_TYPES } from "../provider/types";
import { CREDENTIAL_TYPE_RULES } from "../provider/credentialTypes";

const TYPES: Record<string, string> = {
  ".html": "text/html; charset=utf-8",
  ".js": "text/javascript; charset=utf-8",
  ".css": "text/css; charset=utf-8",
  ".json": "application/json",
};

export const UI_SECURITY_HEADERS = {
  "Content-Security-Policy":
    "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; img-src 'self' data:; base-uri 'none'; form-action 'none'; frame-ancestors 'none'",
  "X-Content-Type-Options": "nosniff",
  "Referrer-Policy": "no-referrer",
  "Cache-Control": "no-store",
};

/** What the forms need of the field tables, by Vault name. */
function fieldsJson(): string {
  return JSON.stringify({
    credentialTypes: CREDENTIAL_TYPES.map((t) => ({ name: t, renewable: CREDENTIAL_TYPE_RULES[t].renewable, revoke: CREDENTIAL_TYPE_RULES[t].revoke })),
    roleFields: ROLE_FIELDS.map((f) => ({ key: f.key, vault: f.vault, kind: f.kind, types: f.types, description: f.description })),
    configFields: CONFIG_FIELDS.map((f) => ({
      key: f.key,
      vault: f.vault,
      kind: f.kind,
      endpoint: f.endpoint,
      secret: !!f.secret,
      description: f.description,
    })),
  });
}

/** Answers a GET under /ui (true), or leaves the request to the API (false). */
export function serveUi(pathname: string, res: ServerResponse): boolean {
  if (pathname === "/" || pathname === "/ui") {
    res.writeHead(302, { Location: "/ui/", ...UI_SECURITY_HEADERS }).end();
    return true;
  }
  if (!pathname.startsWith("/ui/")) return false;
  const name = pathname.slice("/ui/".length) || "index.html";
  if (name === "fields.json") {
    res.writeHead(200, { "Content-Type": TYPES[".json"], ...UI_SECURITY_HEADERS }).end(fieldsJson());
    return true;
  }
  // Only the files in the UI's folder, never a path out of it.
  const file = normalize(name);
  const ext = /\.[a-z]+$/.exec(file)?.[0] ?? "";
  if (file.includes("..") || file.includes("/") || !TYPES[ext]) {
    res.writeHead(404, { "Content-Type": "text/plain", ...UI_SECURITY_HEADERS }).end("not found\n");
    return true;
  }
  let body: Buffer;
  try {
    body = readFileSync(join(packageRoot(), "server", "ui", file));
  } catch {
    res.writeHead(404, { "Content-Type": "text/plain", ...UI_SECURITY_HEADERS }).end("not found\n");
    return true;
  }
  res.writeHead(200, { "Content-Type": TYPES[ext], "Content-Length": body.length, ...UI_SECURITY_HEADERS }).end(body);
  return true;
}
