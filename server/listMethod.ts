// Vault's clients list with the method LIST (`LIST /v1/aws/roles`), which Node's HTTP/1
// parser (llhttp) does not know: it answers 400 (HPE_INVALID_METHOD) before any handler
// runs, and neither an option nor insecureHTTPParser changes that. So each connection's
// incoming bytes (decrypted, for TLS) are rewritten on their way to the parser: a request
// line `LIST <target>` becomes `GET <target>` followed by a marker header holding a secret
// of that connection, and the request events then carry `req.method === "LIST"` again.
//
// To tell request lines from body bytes the rewriter follows each message's framing
// (Content-Length, chunked) as llhttp does in its strict mode. Anything it does not follow
// exactly (CONNECT, Upgrade, duplicate lengths, folded headers, bare CR or LF...) stops
// rewriting for the rest of that connection: the bytes then reach Node unchanged, as if
// this module were not there. It holds back at most the 4 bytes of "LIST" at a message's
// start, so a header block too large still reaches Node whole and ends in its 431.
import { randomBytes } from "node:crypto";
import type { EventEmitter } from "node:events";
import * as http from "node:http";
import type * as https from "node:https";
import type { Duplex } from "node:stream";
import * as tls from "node:tls";

/** The header that carries a rewritten LIST to the parser; never left on a request. */
export const LIST_MARKER_HEADER = "x-awslease-method";

const LIST_PREFIX = Buffer.from("LIST ", "latin1");
const GET_PREFIX = Buffer.from("GET ", "latin1");
const CR = 0x0d;
const LF = 0x0a;
const SP = 0x20;

// RFC 9110 tchar: the characters of methods and header names.
const TCHAR = new Uint8Array(256);
for (const c of "!#$%&'*+-.^_`|~0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ") TCHAR[c.charCodeAt(0)] = 1;

/** Longer than the header names and values the framing needs; other headers are not kept. */
const MAX_KEPT = 64;
/** 12 hex digits: 2^48 bytes; a chunk announced larger is not followed. */
const MAX_CHUNK_SIZE_DIGITS = 12;

type State =
  | "start" // before a request line: CR/LF skipped as llhttp does, "LIST " being matched
  | "method"
  | "target" // rest of the request line
  | "targetLf"
  | "headerStart"
  | "headerName"
  | "headerValue"
  | "headerLf"
  | "headEndLf"
  | "body" // Content-Length body
  | "chunkSize"
  | "chunkExt"
  | "chunkSizeLf"
  | "chunkData"
  | "chunkDataCr"
  | "chunkDataLf"
  | "passThrough"; // for good: bytes not followed, or no longer HTTP (CONNECT, Upgrade)

/**
 * Rewrites one connection's request stream (exported for tests). write() returns the
 * bytes to hand on, in order; body bytes are handed on as slices of the input, unchanged.
 */
export class ListRewriter {
  private state: State = "start";
  /** Bytes of LIST_PREFIX matched at the start of a message and held back. */
  private held = 0;
  private method = "";
  private isList = false;
  private inTrailers = false;
  private name = "";
  private value = "";
  private contentLength: number | undefined;
  private transferEncoding: string | undefined;
  private upgrade = false;
  private remaining = 0;
  private chunkSize = 0;
  private chunkDigits = 0;

  /** marker: the header line (with its CRLF) put after a rewritten request line. */
  constructor(private readonly marker: Buffer) {}

  /** True once the connection is no longer followed: nothing more will be rewritten. */
  get passingThrough(): boolean {
    return this.state === "passThrough";
  }

  write(chunk: Buffer): Buffer[] {
    const out: Buffer[] = [];
    const n = chunk.length;
    let from = 0; // start of the bytes not yet handed on
    let i = 0;
    while (i < n) {
      switch (this.state) {
        case "passThrough":
          i = n;
          break;
        case "body": {
          const take = Math.min(this.remaining, n - i);
          this.remaining -= take;
          i += take;
          if (this.remaining === 0) this.startMessage();
          break;
        }
        case "chunkData": {
          const take = Math.min(this.remaining, n - i);
          this.remaining -= take;
          i += take;
          if (this.remaining === 0) this.state = "chunkDataCr";
          break;
        }
        case "start": {
          const c = chunk[i];
          if (c === LIST_PREFIX[this.held]) {
            if (this.held === 0 && i > from) out.push(chunk.subarray(from, i));
            this.held++;
            i++;
            from = i;
            if (this.held === LIST_PREFIX.length) {
              out.push(GET_PREFIX);
              this.held = 0;
              this.method = "LIST";
              this.isList = true;
              this.state = "target";
            }
          } else if (this.held > 0) {
            // Not LIST after all: the held bytes go on as they came, and c is read again as part of the method.
            out.push(LIST_PREFIX.subarray(0, this.held));
            this.method = LIST_PREFIX.toString("latin1", 0, this.held);
            this.held = 0;
            this.state = "method";
          } else if (c === CR || c === LF) {
            i++;
          } else {
            this.state = "method";
          }
          break;
        }
        default:
          if (this.step(chunk[i])) {
            // End of a LIST request line: the marker follows it.
            out.push(chunk.subarray(from, i + 1), this.marker);
            from = i + 1;
          }
          i++;
      }
    }
    if (from < n) out.push(from === 0 ? chunk : chunk.subarray(from));
    return out;
  }

  /** At the end of the stream: the bytes still held back, unchanged. */
  end(): Buffer[] {
    const held = this.held;
    this.held = 0;
    return held > 0 ? [LIST_PREFIX.subarray(0, held)] : [];
  }

  private startMessage(): void {
    this.state = "start";
    this.method = "";
    this.isList = false;
    this.inTrailers = false;
    this.contentLength = undefined;
    this.transferEncoding = undefined;
    this.upgrade = false;
  }

  private stop(): false {
    this.state = "passThrough";
    return false;
  }

  /** One byte of the head, chunk framing or trailers; true right after a LIST request line. */
  private step(c: number): boolean {
    switch (this.state) {
      case "method":
        if (c === SP) this.state = "target";
        else if (!TCHAR[c]) return this.stop();
        else if (this.method.length < MAX_KEPT) this.method += String.fromCharCode(c);
        return false;
      case "target":
        if (c === CR) this.state = "targetLf";
        else if (c === LF) return this.stop();
        return false;
      case "targetLf":
        if (c !== LF) return this.stop();
        this.state = "headerStart";
        return this.isList;
      case "headerStart":
        if (c === CR) this.state = "headEndLf";
        else if (!TCHAR[c])
          return this.stop(); // obs-fold, bare LF, junk
        else {
          this.name = String.fromCharCode(c).toLowerCase();
          this.state = "headerName";
        }
        return false;
      case "headerName":
        if (c === 0x3a /* : */) {
          this.value = "";
          this.state = "headerValue";
        } else if (!TCHAR[c]) return this.stop();
        else if (this.name.length < MAX_KEPT) this.name += String.fromCharCode(c).toLowerCase();
        return false;
      case "headerValue":
        if (c === CR) this.state = "headerLf";
        else if (c === LF) return this.stop();
        else if (this.kept()) {
          if (this.value.length >= MAX_KEPT) return this.stop();
          this.value += String.fromCharCode(c);
        }
        return false;
      case "headerLf":
        if (c !== LF || !this.headerDone()) return this.stop();
        this.state = "headerStart";
        return false;
      case "headEndLf":
        if (c !== LF) return this.stop();
        this.headEnd();
        return false;
      case "chunkSize": {
        const digit = hexValue(c);
        if (digit >= 0) {
          if (++this.chunkDigits > MAX_CHUNK_SIZE_DIGITS) return this.stop();
          this.chunkSize = this.chunkSize * 16 + digit;
        } else if (this.chunkDigits === 0 || (c !== CR && c !== 0x3b) /* ; */) {
          return this.stop(); // llhttp (strict) takes no spaces after the size
        } else this.state = c === CR ? "chunkSizeLf" : "chunkExt";
        return false;
      }
      case "chunkExt":
        // An extension's quoted strings hold no CR or LF, so its first CR ends it.
        if (c === CR) this.state = "chunkSizeLf";
        else if (c === LF) return this.stop();
        return false;
      case "chunkSizeLf":
        if (c !== LF) return this.stop();
        if (this.chunkSize === 0) {
          this.inTrailers = true;
          this.state = "headerStart";
        } else {
          this.remaining = this.chunkSize;
          this.state = "chunkData";
        }
        return false;
      case "chunkDataCr":
        if (c !== CR) return this.stop();
        this.state = "chunkDataLf";
        return false;
      case "chunkDataLf":
        if (c !== LF) return this.stop();
        this.chunkSize = 0;
        this.chunkDigits = 0;
        this.state = "chunkSize";
        return false;
      default:
        return this.stop();
    }
  }

  /** Whether the current header's value matters to the framing. */
  private kept(): boolean {
    return !this.inTrailers && (this.name === "content-length" || this.name === "transfer-encoding");
  }

  /** A header line is complete; false if it is one the framing cannot be sure of. */
  private headerDone(): boolean {
    if (this.inTrailers) return true;
    const value = this.value.replace(/^[ \t]+|[ \t]+$/g, "");
    switch (this.name) {
      case "content-length":
        // llhttp rejects a second Content-Length, and any but digits.
        if (this.contentLength !== undefined || !/^[0-9]{1,15}$/.test(value)) return false;
        this.contentLength = Number(value);
        return true;
      case "transfer-encoding":
        if (this.transferEncoding !== undefined) return false;
        this.transferEncoding = value.toLowerCase();
        return true;
      case "upgrade":
        this.upgrade = true;
        return true;
      default:
        return true;
    }
  }

  private headEnd(): void {
    if (this.inTrailers) return this.startMessage();
    // What follows a CONNECT or an accepted Upgrade is not HTTP; whether Node accepts one is not known here.
    if (this.method === "CONNECT" || this.upgrade) return void this.stop();
    if (this.transferEncoding !== undefined) {
      // llhttp (strict) takes a request body only as chunked last, and never with a Content-Length too.
      const codings = this.transferEncoding.split(",").map((s) => s.trim());
      const chunkedOnlyLast = codings.indexOf("chunked") === codings.length - 1;
      if (this.contentLength !== undefined || !chunkedOnlyLast || codings.some((s) => !/^[a-z0-9!#$%&'*+.^_`|~-]+$/.test(s))) {
        return void this.stop();
      }
      this.chunkSize = 0;
      this.chunkDigits = 0;
      this.state = "chunkSize";
    } else if (this.contentLength !== undefined && this.contentLength > 0) {
      this.remaining = this.contentLength;
      this.state = "body";
    } else this.startMessage();
  }
}

function hexValue(c: number): number {
  if (c >= 0x30 && c <= 0x39) return c - 0x30;
  if (c >= 0x61 && c <= 0x66) return c - 0x57;
  if (c >= 0x41 && c <= 0x46) return c - 0x37;
  return -1;
}

const kInstalled = Symbol("awslease.acceptListMethod");
/** Each rewritten connection's secret: a marker header is believed only with it. */
const secrets = new WeakMap<object, string>();

/**
 * Lets `server` take Vault's LIST requests: its request handlers (and 'checkContinue',
 * 'checkExpectation', 'dropRequest') see them with `req.method === "LIST"`, the target and
 * the headers as sent. Call it before the server takes connections; calling it again does
 * nothing. For an https.Server the decrypted stream is rewritten.
 */
export function acceptListMethod(server: http.Server | https.Server): void {
  const emitter = server as EventEmitter & { [kInstalled]?: true };
  if (emitter[kInstalled]) return;
  emitter[kInstalled] = true;
  // An https.Server hands the HTTP layer its TLS sockets on 'secureConnection'; the raw TCP
  // sockets it gets on 'connection' carry ciphertext.
  const event = server instanceof tls.Server ? "secureConnection" : "connection";
  // Before Node's own listener (which sets up the parser), and after it.
  emitter.prependListener(event, (socket: Duplex) => rewriteIncoming(socket));
  emitter.on(event, (socket: Duplex) => keepParserOffTheHandle(socket));

  const emit = emitter.emit;
  emitter.emit = function (this: EventEmitter, event: string | symbol, ...args: unknown[]): boolean {
    if (args[0] instanceof http.IncomingMessage) restoreMethod(args[0]);
    return emit.call(this, event, ...args);
  };
}

/** Routes the socket's incoming bytes through a ListRewriter, from its first byte on. */
function rewriteIncoming(socket: Duplex): void {
  const secret = randomBytes(16).toString("hex");
  secrets.set(socket, secret);
  const rewriter = new ListRewriter(Buffer.from(`${LIST_MARKER_HEADER}: LIST ${secret}\r\n`, "latin1"));
  const push = socket.push;
  // Everything a socket reads (the cleartext, for a TLS socket) reaches its readers through push().
  socket.push = function (this: Duplex, chunk: unknown, encoding?: BufferEncoding): boolean {
    if (chunk === null) {
      for (const piece of rewriter.end()) push.call(this, piece);
      return push.call(this, null);
    }
    if (rewriter.passingThrough) return push.call(this, chunk, encoding);
    const buf = typeof chunk === "string" ? Buffer.from(chunk, encoding) : Buffer.isBuffer(chunk) ? chunk : Buffer.from(chunk as Uint8Array);
    const pieces = rewriter.write(buf);
    let more = true;
    for (const piece of pieces) more = push.call(this, piece) && more;
    // Nothing handed on (4 bytes of "LIST" held back): ask for more while there is room.
    return pieces.length > 0 ? more : this.readableLength < this.readableHighWaterMark;
  };
  // Bytes already buffered went in unrewritten (a stream handed to emit("connection") may
  // hold some; Node's own sockets were not seen to): taken out, rewritten, put back in front.
  if (socket.readableLength > 0 && !socket.readableFlowing) {
    const early: unknown = socket.read();
    if (Buffer.isBuffer(early)) socket.unshift(Buffer.concat(rewriter.write(early)));
    else if (early !== null) socket.unshift(early as string); // decoded text (setEncoding): not HTTP's parser
  }
}

/**
 * Node's HTTP server lets its parser read a socket's handle directly in C++ ("consume"),
 * bypassing push(); it stops doing so when a 'data' listener is added, as for any user
 * that reads the socket. One is added and removed at once for that effect.
 */
function keepParserOffTheHandle(socket: Duplex): void {
  const noop = () => {};
  socket.on("data", noop);
  socket.removeListener("data", noop);
}

/** Puts LIST back as the method of a rewritten request, and takes any marker header off it. */
function restoreMethod(req: http.IncomingMessage): void {
  const raw = req.rawHeaders;
  if (!raw.some((field, i) => i % 2 === 0 && field.length === LIST_MARKER_HEADER.length && field.toLowerCase() === LIST_MARKER_HEADER)) return;
  const secret = secrets.get(req.socket);
  let isList = false;
  // headers and headersDistinct are computed from rawHeaders (and its original length) on
  // first use: computed now, before the marker leaves rawHeaders.
  delete req.headers[LIST_MARKER_HEADER];
  delete req.headersDistinct[LIST_MARKER_HEADER];
  for (let i = raw.length - 2; i >= 0; i -= 2) {
    if (raw[i].toLowerCase() !== LIST_MARKER_HEADER) continue;
    // Ours comes first, right after the request line; a client's copy never has the secret.
    if (i === 0 && secret !== undefined && raw[1] === `LIST ${secret}`) isList = true;
    raw.splice(i, 2);
  }
  if (isList) req.method = "LIST";
}
