// A fault-injecting HTTP proxy in front of moto, for the reliability tests. IAM and
// STS speak the AWS query protocol: every request is a POST whose form body names
// the API call (`Action=CreateUser&...`). A rule picks requests by action (and
// optionally by a body parameter, e.g. PolicyName) and answers them with a fault
// instead of - or, for `lostResponse`, after - forwarding them to moto:
//   throttle      400 Throttling (the SDK retries it with backoff)
//   error500      500 ServiceFailure (retried as a transient error)
//   error         400 with the rule's code, e.g. AccessDenied (not retried: permanent)
//   drop          the connection is closed without an answer, nothing reaches moto
//   lostResponse  moto does the call, then the connection is closed: its answer is lost
//   delay         forwarded after delayMs
//   hang          never answered (the client's timeout must end it)
// `times` faults that many matching requests (default: all of them); `attempts`
// faults only the first N attempts of every call, which the SDK numbers in its
// amz-sdk-request header ("attempt=2; max=4"), so "throttled 3x, then answered" is
// exact per call. Headers (Host included) are forwarded unchanged, so SigV4
// signatures still verify on the enforcing moto.
import { createServer, request, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";

export type Fault = "throttle" | "error500" | "error" | "drop" | "lostResponse" | "delay" | "hang";

export interface FaultRule {
  /** The API action (e.g. "CreateUser"), or "*" for every call. */
  action: string;
  fault: Fault;
  /** Only requests whose form body has these parameters (e.g. { PolicyName: "awslease-expiry" }). */
  params?: Record<string, string>;
  /** Fault this many matching requests, then let them through. Default: every one. */
  times?: number;
  /** Fault only attempts 1..N of each call (the SDK's retries after that go through). */
  attempts?: number;
  /** For "error": the AWS error code. */
  code?: string;
  /** For "delay". */
  delayMs?: number;
}

export interface SeenRequest {
  action: string;
  params: Record<string, string>;
  attempt: number;
  /** The fault applied, if any. */
  fault?: Fault;
}

function errorXml(code: string, message: string): string {
  return (
    `<ErrorResponse xmlns="https://iam.amazonaws.com/doc/2010-05-08/"><Error><Type>Sender</Type>` +
    `<Code>${code}</Code><Message>${message}</Message></Error><RequestId>fault-proxy</RequestId></ErrorResponse>`
  );
}

export class FaultProxy {
  readonly seen: SeenRequest[] = [];
  /** Requests answered with a fault since the proxy started (resets keep counting). */
  faultsInjected = 0;
  private rules: (FaultRule & { used: number })[] = [];
  private server?: Server;
  private readonly hanging = new Set<ServerResponse>();
  url = "";

  constructor(private readonly target: string) {}

  async start(): Promise<this> {
    this.server = createServer((req, res) => void this.handle(req, res));
    await new Promise<void>((resolve) => this.server!.listen(0, "127.0.0.1", resolve));
    this.url = `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
    return this;
  }

  /** Adds a rule; the first matching rule with faults left applies. */
  add(rule: FaultRule): this {
    this.rules.push({ ...rule, used: 0 });
    return this;
  }

  /** No more faults, and the log of seen requests starts anew. */
  reset(): void {
    this.clear();
    this.seen.length = 0;
  }

  /** No more faults; hanging requests are closed. */
  clear(): void {
    this.rules = [];
    for (const res of this.hanging) res.destroy();
    this.hanging.clear();
  }

  /** Actions that reached the proxy (in order), optionally only those given this fault. */
  actions(fault?: Fault): string[] {
    return this.seen.filter((s) => fault === undefined || s.fault === fault).map((s) => s.action);
  }

  /** Resolves once a request for `action` has been seen (since the last reset). */
  async waitFor(action: string, timeoutMs = 120_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (!this.seen.some((s) => s.action === action)) {
      if (Date.now() > deadline) throw new Error(`no ${action} request within ${timeoutMs} ms (seen: ${this.actions().join(", ")})`);
      await new Promise((r) => setTimeout(r, 20));
    }
  }

  async close(): Promise<void> {
    this.clear();
    this.server?.closeAllConnections();
    await new Promise<void>((resolve) => (this.server ? this.server.close(() => resolve()) : resolve()));
  }

  private match(action: string, params: Record<string, string>, attempt: number): (FaultRule & { used: number }) | undefined {
    return this.rules.find(
      (r) =>
        (r.action === "*" || r.action === action) &&
        Object.entries(r.params ?? {}).every(([k, v]) => params[k] === v) &&
        (r.times === undefined || r.used < r.times) &&
        (r.attempts === undefined || attempt <= r.attempts),
    );
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    const body = Buffer.concat(chunks);
    const params = Object.fromEntries(new URLSearchParams(body.toString("utf8")));
    const action = params.Action ?? "(none)";
    const attempt = Number(/attempt=(\d+)/.exec(String(req.headers["amz-sdk-request"] ?? ""))?.[1] ?? 1);
    const rule = this.match(action, params, attempt);
    if (rule) {
      rule.used++;
      this.faultsInjected++;
    }
    this.seen.push({ action, params, attempt, fault: rule?.fault });
    switch (rule?.fault) {
      case "throttle":
        return this.answer(res, 400, errorXml("Throttling", "Rate exceeded"));
      case "error500":
        return this.answer(res, 500, errorXml("ServiceFailure", "injected server error"));
      case "error":
        return this.answer(
          res,
          (rule.code ?? "AccessDenied") === "AccessDenied" ? 403 : 400,
          errorXml(rule.code ?? "AccessDenied", `injected ${rule.code ?? "AccessDenied"} for ${action}`),
        );
      case "drop":
        res.socket?.destroy();
        return;
      case "hang":
        this.hanging.add(res);
        return;
      case "delay":
        await new Promise((r) => setTimeout(r, rule.delayMs ?? 1000));
        break;
    }
    const lose = rule?.fault === "lostResponse";
    const upstream = request(this.target + (req.url ?? "/"), { method: req.method, headers: req.headers }, (answer) => {
      const parts: Buffer[] = [];
      answer.on("data", (d: Buffer) => parts.push(d));
      answer.on("end", () => {
        if (lose) res.socket?.destroy();
        else this.answer(res, answer.statusCode ?? 502, Buffer.concat(parts), answer.headers["content-type"]);
      });
    });
    upstream.on("error", () => res.socket?.destroy());
    upstream.end(body);
  }

  private answer(res: ServerResponse, status: number, body: string | Buffer, contentType: string | string[] = "text/xml"): void {
    res.writeHead(status, { "content-type": String(contentType), "content-length": Buffer.byteLength(body) });
    res.end(body);
  }
}

/** A started proxy in front of `target` (moto's endpoint). */
export async function faultProxy(target: string): Promise<FaultProxy> {
  return new FaultProxy(target).start();
}
