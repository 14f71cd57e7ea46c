// acceptListMethod on real sockets (127.0.0.1, port 0): raw net/tls clients for pipelines
// split anywhere, Node's own http(s).request for what a normal client sees, and the
// ListRewriter alone for every split of a pipeline.
import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import * as http from "node:http";
import * as https from "node:https";
import * as net from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Duplex } from "node:stream";
import * as tls from "node:tls";
import type { AddressInfo } from "node:net";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { acceptListMethod, LIST_MARKER_HEADER, ListRewriter } from "../../server/listMethod";

/** What the echo handler saw of one request. */
interface Seen {
  method: string;
  url: string;
  headers: Record<string, string | string[] | undefined>;
  rawHeaders: string[];
  body: string;
  trailers: Record<string, string | undefined>;
  encrypted: boolean;
}

function echo(req: http.IncomingMessage, res: http.ServerResponse): void {
  const body: Buffer[] = [];
  req.on("data", (b: Buffer) => body.push(b));
  req.on("end", () => {
    const seen: Seen = {
      method: req.method ?? "",
      url: req.url ?? "",
      headers: req.headers,
      rawHeaders: req.rawHeaders,
      body: Buffer.concat(body).toString("latin1"),
      trailers: req.trailers,
      encrypted: (req.socket as tls.TLSSocket).encrypted === true,
    };
    res.setHeader("content-type", "application/json");
    res.end(JSON.stringify(seen));
  });
}

let certDir: string;
let key: Buffer;
let cert: Buffer;
const servers: net.Server[] = [];

beforeAll(() => {
  certDir = mkdtempSync(join(tmpdir(), "listmethod-"));
  execFileSync(
    "openssl",
    [
      "req",
      "-x509",
      "-newkey",
      "ec",
      "-pkeyopt",
      "ec_paramgen_curve:prime256v1",
      "-nodes",
      "-keyout",
      join(certDir, "key.pem"),
      "-out",
      join(certDir, "cert.pem"),
      "-days",
      "1",
      "-subj",
      "/CN=localhost",
    ],
    { stdio: "ignore" },
  );
  key = readFileSync(join(certDir, "key.pem"));
  cert = readFileSync(join(certDir, "cert.pem"));
});
afterAll(() => rmSync(certDir, { recursive: true, force: true }));
afterEach(async () => {
  for (const s of servers.splice(0)) {
    (s as http.Server).closeAllConnections?.();
    await new Promise((r) => s.close(r));
  }
});

type Kind = "http" | "https";

async function serve(kind: Kind, opts: { accept?: boolean; handler?: http.RequestListener } = {}): Promise<http.Server> {
  const handler = opts.handler ?? echo;
  const server = kind === "http" ? http.createServer(handler) : https.createServer({ key, cert }, handler);
  if (opts.accept !== false) acceptListMethod(server);
  servers.push(server);
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  return server;
}

const portOf = (server: net.Server) => (server.address() as AddressInfo).port;
const delay = (ms: number) => new Promise((r) => setTimeout(r, ms));

function connect(kind: Kind, port: number): net.Socket {
  const socket = kind === "http" ? net.connect(port, "127.0.0.1") : tls.connect({ port, host: "127.0.0.1", rejectUnauthorized: false });
  socket.setNoDelay(true);
  return socket;
}

/** Writes the parts (pausing between them, so they tend to arrive apart) and returns all the server sent until it closed. */
async function exchange(kind: Kind, port: number, parts: (string | Buffer)[], gapMs = 2): Promise<Buffer> {
  const socket = connect(kind, port);
  const received: Buffer[] = [];
  const closed = new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no close; got ${Buffer.concat(received).toString("latin1")}`)), 10_000);
    socket.on("data", (b: Buffer) => received.push(b));
    socket.on("close", () => {
      clearTimeout(timer);
      resolve();
    });
    socket.on("error", () => {}); // a reset after a 400 is fine; the bytes are what is checked
  });
  await new Promise((r) => socket.once(kind === "http" ? "connect" : "secureConnect", r));
  for (const [i, part] of parts.entries()) {
    if (i > 0 && gapMs > 0) await delay(gapMs);
    if (!socket.destroyed) socket.write(part);
  }
  await closed;
  return Buffer.concat(received);
}

interface Response {
  status: number;
  headers: Record<string, string>;
  body: string;
}

/** The responses in a byte stream (interim 1xx included); a response without Content-Length has no body here. */
function parseResponses(data: Buffer): Response[] {
  const text = data.toString("latin1");
  const out: Response[] = [];
  let at = 0;
  while (at < text.length) {
    const end = text.indexOf("\r\n\r\n", at);
    if (end < 0) throw new Error(`incomplete response: ${JSON.stringify(text.slice(at))}`);
    const [statusLine, ...lines] = text.slice(at, end).split("\r\n");
    const headers: Record<string, string> = {};
    for (const line of lines) headers[line.slice(0, line.indexOf(":")).toLowerCase()] = line.slice(line.indexOf(":") + 1).trim();
    const length = Number(headers["content-length"] ?? 0);
    out.push({ status: Number(statusLine.split(" ")[1]), headers, body: text.slice(end + 4, end + 4 + length) });
    at = end + 4 + length;
  }
  return out;
}

const seenIn = (responses: Response[]) => responses.filter((r) => r.status === 200).map((r) => JSON.parse(r.body) as Seen);

function noMarker(seen: Seen): void {
  expect(seen.headers[LIST_MARKER_HEADER]).toBeUndefined();
  expect(seen.rawHeaders.map((h) => h.toLowerCase())).not.toContain(LIST_MARKER_HEADER);
}

// A keep-alive pipeline mixing LIST with bodies that hold "\r\n\r\nLIST " themselves.
const smuggle = "\r\n\r\nLIST /v1/smuggled HTTP/1.1\r\nHost: a\r\n\r\n";
const chunk1 = `${smuggle}LIST`;
const chunk2 = "\r\n\r\nLIST ";
const PIPELINE: { raw: string; method: string; url: string; body: string }[] = [
  { raw: "LIST /v1/aws/roles HTTP/1.1\r\nHost: a\r\nX-Vault-Token: t\r\n\r\n", method: "LIST", url: "/v1/aws/roles", body: "" },
  {
    raw: `POST /v1/aws/roles/r HTTP/1.1\r\nHost: a\r\nContent-Length: ${smuggle.length}\r\n\r\n${smuggle}`,
    method: "POST",
    url: "/v1/aws/roles/r",
    body: smuggle,
  },
  // llhttp skips CR/LF before a request line.
  { raw: "\r\nGET /v1/aws/config/root HTTP/1.1\r\nHost: a\r\n\r\n", method: "GET", url: "/v1/aws/config/root", body: "" },
  {
    raw:
      "PUT /v1/aws/roles/c HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n" +
      `${chunk1.length.toString(16)};note="LIST x"\r\n${chunk1}\r\n${chunk2.length.toString(16)}\r\n${chunk2}\r\n0\r\nX-Trailer: LIST /t\r\n\r\n`,
    method: "PUT",
    url: "/v1/aws/roles/c",
    body: chunk1 + chunk2,
  },
  { raw: "LIST /v1/aws/roles/?x=1 HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\n\r\nLIST ", method: "LIST", url: "/v1/aws/roles/?x=1", body: "LIST " },
  { raw: "LOCK /v1/l HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n", method: "LOCK", url: "/v1/l", body: "" },
];
const PIPELINE_BYTES = Buffer.from(PIPELINE.map((m) => m.raw).join(""), "latin1");

function expectPipelineSeen(data: Buffer): void {
  const responses = parseResponses(data);
  expect(responses.map((r) => r.status)).toEqual(PIPELINE.map(() => 200));
  const seen = seenIn(responses);
  expect(seen.map((s) => [s.method, s.url, s.body])).toEqual(PIPELINE.map((m) => [m.method, m.url, m.body]));
  expect(seen[3].trailers).toEqual({ "x-trailer": "LIST /t" });
  seen.forEach(noMarker);
}

/** Runs fn over items, at most `width` at a time. */
async function inBatches<T>(items: T[], width: number, fn: (item: T) => Promise<void>): Promise<void> {
  for (let i = 0; i < items.length; i += width) await Promise.all(items.slice(i, i + width).map(fn));
}

describe("Node without acceptListMethod", () => {
  it("answers LIST with 400 before any handler runs", async () => {
    let handled = 0;
    const server = await serve("http", { accept: false, handler: (_req, res) => (handled++, res.end()) });
    const errors: string[] = [];
    server.on("clientError", (err: NodeJS.ErrnoException, socket: net.Socket) => {
      errors.push(err.code ?? "");
      socket.end("HTTP/1.1 400 Bad Request\r\nConnection: close\r\n\r\n");
    });
    const data = await exchange("http", portOf(server), ["LIST /v1/x HTTP/1.1\r\nHost: a\r\n\r\n"]);
    expect(parseResponses(data).map((r) => r.status)).toEqual([400]);
    expect(errors).toEqual(["HPE_INVALID_METHOD"]);
    expect(handled).toBe(0);
  });
});

describe.each(["http", "https"] as const)("acceptListMethod over %s", (kind) => {
  it("gives Node's own client's LIST to the handler as LIST, without the marker", async () => {
    const server = await serve(kind);
    const request = (kind === "http" ? http : https).request;
    const body = await new Promise<string>((resolve, reject) => {
      const req = request(
        {
          host: "127.0.0.1",
          port: portOf(server),
          method: "LIST",
          path: "/v1/aws/roles?list=true",
          headers: { "X-Vault-Token": "t" },
          rejectUnauthorized: false,
        },
        (res) => {
          let text = "";
          res.setEncoding("utf8");
          res.on("data", (d: string) => (text += d));
          res.on("end", () => (res.statusCode === 200 ? resolve(text) : reject(new Error(`status ${res.statusCode}`))));
        },
      );
      req.on("error", reject);
      req.end();
    });
    const seen = JSON.parse(body) as Seen;
    expect(seen.method).toBe("LIST");
    expect(seen.url).toBe("/v1/aws/roles?list=true");
    expect(seen.headers["x-vault-token"]).toBe("t");
    expect(seen.encrypted).toBe(kind === "https");
    noMarker(seen);
  });

  it("follows a keep-alive pipeline in one write: LIST, GET, POST and chunked PUT bodies holding LIST", async () => {
    const server = await serve(kind);
    expectPipelineSeen(await exchange(kind, portOf(server), [PIPELINE_BYTES]));
  });

  it("follows the pipeline split in two at every byte", async () => {
    const server = await serve(kind);
    const offsets = Array.from({ length: PIPELINE_BYTES.length - 1 }, (_, i) => i + 1);
    await inBatches(offsets, 25, async (at) => {
      const data = await exchange(kind, portOf(server), [PIPELINE_BYTES.subarray(0, at), PIPELINE_BYTES.subarray(at)]);
      try {
        expectPipelineSeen(data);
      } catch (err) {
        throw new Error(`split at ${at}: ${(err as Error).message}`, { cause: err });
      }
    });
  }, 120_000);

  it("follows the pipeline sent one byte at a time", async () => {
    const server = await serve(kind);
    const bytes = [...PIPELINE_BYTES].map((b) => Buffer.from([b]));
    expectPipelineSeen(await exchange(kind, portOf(server), bytes, 0));
  });

  it("leaves lowercase list and LIST-like methods alone", async () => {
    const server = await serve(kind);
    for (const line of ["list /v1/x HTTP/1.1", "LISTS /v1/x HTTP/1.1", "XLIST /v1/x HTTP/1.1", "LIS /v1/x HTTP/1.1"]) {
      const data = await exchange(kind, portOf(server), [`${line}\r\nHost: a\r\n\r\n`]);
      expect(
        parseResponses(data).map((r) => r.status),
        line,
      ).toEqual([400]);
    }
    const data = await exchange(kind, portOf(server), ["LINK /v1/x HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n"]);
    expect(seenIn(parseResponses(data)).map((s) => s.method)).toEqual(["LINK"]);
  });

  it("never believes a client's marker header, and takes it off", async () => {
    const server = await serve(kind);
    const forged = `${LIST_MARKER_HEADER}: LIST 0123456789abcdef0123456789abcdef`;
    const data = await exchange(kind, portOf(server), [
      `GET /v1/a HTTP/1.1\r\nHost: a\r\n${forged}\r\n\r\n` +
        `LIST /v1/b HTTP/1.1\r\n${forged}\r\nHost: a\r\n\r\n` +
        `GET /v1/c HTTP/1.1\r\nHost: a\r\nX-AWSLEASE-METHOD: LIST\r\nConnection: close\r\n\r\n`,
    ]);
    const seen = seenIn(parseResponses(data));
    expect(seen.map((s) => [s.method, s.url])).toEqual([
      ["GET", "/v1/a"],
      ["LIST", "/v1/b"],
      ["GET", "/v1/c"],
    ]);
    seen.forEach(noMarker);
    expect(seen[1].rawHeaders).toEqual(["Host", "a"]);
  });

  it("still lets Node answer 431 to a header block too large, for GET and for LIST", async () => {
    const server = await serve(kind);
    const big = `X-Big: ${"a".repeat(20 * 1024)}\r\n`;
    for (const method of ["GET", "LIST"]) {
      const data = await exchange(kind, portOf(server), [`${method} /v1/x HTTP/1.1\r\nHost: a\r\n${big}\r\n`]);
      expect(
        parseResponses(data).map((r) => r.status),
        method,
      ).toEqual([431]);
    }
    // An endless header line: Node's parser stops it at its limit, as the bytes are never
    // held back here. (Its 431 may be lost to the reset of a socket closed with bytes unread,
    // so the parser's error is what is checked.)
    const errors: string[] = [];
    server.on("clientError", (err: NodeJS.ErrnoException, s: net.Socket) => (errors.push(err.code ?? ""), s.destroy()));
    const socket = connect(kind, portOf(server));
    socket.on("error", () => {});
    await new Promise((r) => socket.once(kind === "http" ? "connect" : "secureConnect", r));
    socket.write("LIST /v1/x HTTP/1.1\r\nHost: a\r\nX-Endless: ");
    const closed = new Promise((r) => socket.once("close", r));
    let sent = 0;
    while (!socket.destroyed && sent < 4 * 1024 * 1024) {
      socket.write("b".repeat(64 * 1024));
      sent += 64 * 1024;
      await delay(1);
    }
    await closed;
    expect(errors).toEqual(["HPE_HEADER_OVERFLOW"]);
    expect(sent).toBeLessThan(4 * 1024 * 1024);
  });

  it("answers a LIST with Expect: 100-continue like any request", async () => {
    const server = await serve(kind);
    const data = await exchange(kind, portOf(server), [
      "LIST /v1/e HTTP/1.1\r\nHost: a\r\nExpect: 100-continue\r\nContent-Length: 2\r\nConnection: close\r\n\r\nhi",
    ]);
    const responses = parseResponses(data);
    expect(responses.map((r) => r.status)).toEqual([100, 200]);
    expect(seenIn(responses).map((s) => [s.method, s.body])).toEqual([["LIST", "hi"]]);
  });

  it("keeps the socket's own timeouts: an idle keep-alive connection is closed", async () => {
    const server = await serve(kind);
    server.keepAliveTimeout = 200;
    const socket = connect(kind, portOf(server));
    const received: Buffer[] = [];
    socket.on("data", (b: Buffer) => received.push(b));
    await new Promise((r) => socket.once(kind === "http" ? "connect" : "secureConnect", r));
    const started = Date.now();
    socket.write("LIST /v1/k HTTP/1.1\r\nHost: a\r\n\r\n");
    await new Promise((r) => socket.once("close", r));
    expect(Date.now() - started).toBeLessThan(3000);
    expect(seenIn(parseResponses(Buffer.concat(received))).map((s) => s.method)).toEqual(["LIST"]);
  });

  it("hands the bytes after an accepted Upgrade to the upgrade handler unchanged", async () => {
    const server = await serve(kind);
    const tunneled = "LIST /v1/t HTTP/1.1\r\nHost: a\r\n\r\n";
    const later = "LIST /v1/u HTTP/1.1\r\n\r\n";
    server.on("upgrade", (req: http.IncomingMessage, socket: Duplex, head: Buffer) => {
      const got = [head];
      const answer = () => {
        const text = Buffer.concat(got).toString("latin1");
        if (text.length < tunneled.length + later.length) return;
        const body = JSON.stringify({ method: req.method, text });
        socket.end(`HTTP/1.1 200 OK\r\nContent-Length: ${body.length}\r\nConnection: close\r\n\r\n${body}`);
      };
      socket.on("data", (b: Buffer) => (got.push(b), answer()));
      answer();
    });
    const data = await exchange(kind, portOf(server), [`GET /ws HTTP/1.1\r\nHost: a\r\nConnection: Upgrade\r\nUpgrade: test\r\n\r\n${tunneled}`, later], 20);
    const [response] = parseResponses(data);
    expect(JSON.parse(response.body)).toEqual({ method: "GET", text: tunneled + later });
  });
});

describe("acceptListMethod, other cases", () => {
  it("rewrites bytes a stream handed to emit('connection') already holds", async () => {
    const server = http.createServer(echo);
    acceptListMethod(server);
    const written: Buffer[] = [];
    const duplex = new Duplex({
      read() {},
      write(chunk: Buffer, _encoding, callback) {
        written.push(chunk);
        callback();
      },
    });
    duplex.push("LIST /v1/early HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n");
    server.emit("connection", duplex);
    for (let i = 0; i < 100 && !Buffer.concat(written).toString().includes("/v1/early"); i++) await delay(10);
    const seen = seenIn(parseResponses(Buffer.concat(written)));
    expect(seen.map((s) => [s.method, s.url])).toEqual([["LIST", "/v1/early"]]);
    duplex.destroy();
  });

  it("is installed once however often it is called", async () => {
    const server = await serve("http");
    const listeners = server.listenerCount("connection");
    acceptListMethod(server);
    expect(server.listenerCount("connection")).toBe(listeners);
    const data = await exchange("http", portOf(server), ["LIST /v1/x HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n"]);
    const [seen] = seenIn(parseResponses(data));
    expect(seen.method).toBe("LIST");
    expect(seen.rawHeaders).toEqual(["Host", "a", "Connection", "close"]);
  });
});

describe("ListRewriter", () => {
  const MARKER = Buffer.from(`${LIST_MARKER_HEADER}: LIST s\r\n`, "latin1");
  /** The pipeline as the parser must see it: each LIST line made GET, the marker after it. */
  const EXPECTED = PIPELINE.map((m) => (m.method === "LIST" ? m.raw.replace(/^LIST (.*?\r\n)/, `GET $1${MARKER.toString("latin1")}`) : m.raw)).join("");

  function run(pieces: Buffer[]): { out: string; held: number } {
    const rewriter = new ListRewriter(MARKER);
    const out: Buffer[] = [];
    let held = 0;
    let inBytes = 0;
    let outBytes = 0;
    for (const piece of pieces) {
      inBytes += piece.length;
      for (const b of rewriter.write(piece)) {
        out.push(b);
        outBytes += b.length;
      }
      // Output may trail input only by the bytes of "LIST" being held (ignoring the markers and GET for LIST).
      held = Math.max(held, inBytes - outBytes);
    }
    out.push(...rewriter.end());
    return { out: Buffer.concat(out).toString("latin1"), held };
  }

  it("rewrites only the LIST request lines of the pipeline, in one piece or cut at any one or two bytes", () => {
    expect(run([PIPELINE_BYTES]).out).toBe(EXPECTED);
    const n = PIPELINE_BYTES.length;
    for (let i = 1; i < n; i++) {
      expect(run([PIPELINE_BYTES.subarray(0, i), PIPELINE_BYTES.subarray(i)]).out, `cut at ${i}`).toBe(EXPECTED);
      for (let j = i + 1; j < n; j += 7) {
        const { out } = run([PIPELINE_BYTES.subarray(0, i), PIPELINE_BYTES.subarray(i, j), PIPELINE_BYTES.subarray(j)]);
        if (out !== EXPECTED) expect(out, `cut at ${i} and ${j}`).toBe(EXPECTED);
      }
    }
    const { out, held } = run([...PIPELINE_BYTES].map((b) => Buffer.from([b])));
    expect(out).toBe(EXPECTED);
    expect(held).toBeLessThanOrEqual(4);
  });

  it("hands a huge header block on as it comes, holding nothing back", () => {
    const rewriter = new ListRewriter(MARKER);
    expect(Buffer.concat(rewriter.write(Buffer.from("LIST /x HTTP/1.1\r\nX-Big: "))).toString()).toBe(`GET /x HTTP/1.1\r\n${MARKER}X-Big: `);
    const piece = Buffer.alloc(64 * 1024, "a");
    for (let i = 0; i < 64; i++) expect(Buffer.concat(rewriter.write(piece)).length).toBe(piece.length);
  });

  it("keeps back a trailing 'LIS' until the next bytes or the end", () => {
    const rewriter = new ListRewriter(MARKER);
    expect(rewriter.write(Buffer.from("LIS"))).toEqual([]);
    expect(Buffer.concat(rewriter.end()).toString()).toBe("LIS");
  });

  it.each([
    ["a second Content-Length", "POST /a HTTP/1.1\r\nContent-Length: 3\r\nContent-Length: 3\r\n\r\n"],
    ["Content-Length with Transfer-Encoding", "POST /a HTTP/1.1\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n"],
    ["a Transfer-Encoding not ending in chunked", "POST /a HTTP/1.1\r\nTransfer-Encoding: chunked, gzip\r\n\r\n"],
    ["a Content-Length not all digits", "POST /a HTTP/1.1\r\nContent-Length: +3\r\n\r\n"],
    ["a folded header", "GET /a HTTP/1.1\r\nX-A: 1\r\n  2\r\n\r\n"],
    ["a bare LF", "GET /a HTTP/1.1\nHost: a\r\n\r\n"],
    ["a space before the colon", "GET /a HTTP/1.1\r\nContent-Length : 3\r\n\r\n"],
    ["an Upgrade", "GET /a HTTP/1.1\r\nConnection: upgrade\r\nUpgrade: x\r\n\r\n"],
    ["CONNECT", "CONNECT a:443 HTTP/1.1\r\nHost: a:443\r\n\r\n"],
    ["a space after a chunk size", "POST /a HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n3 \r\nabc\r\n0\r\n\r\n"],
  ])("stops rewriting for good after %s", (_what, head) => {
    const rewriter = new ListRewriter(MARKER);
    const after = "LIST /b HTTP/1.1\r\n\r\n";
    const out = Buffer.concat([...rewriter.write(Buffer.from(head + after, "latin1")), ...rewriter.end()]).toString("latin1");
    expect(out).toBe(head + after);
    expect(rewriter.passingThrough).toBe(true);
  });

  it("goes on after bodies it can follow", () => {
    const rewriter = new ListRewriter(MARKER);
    const head = "POST /a HTTP/1.1\r\nTransfer-Encoding: Chunked\r\nContent-Length-X: 1\r\n\r\n3\r\nabc\r\n0\r\n\r\n";
    const out = Buffer.concat(rewriter.write(Buffer.from(`${head}LIST /b HTTP/1.1\r\n\r\n`))).toString();
    expect(out).toBe(`${head}GET /b HTTP/1.1\r\n${MARKER}\r\n`);
    expect(rewriter.passingThrough).toBe(false);
  });
});
