// `awslease server`: Vault's HTTP API over the lease table, for Vault clients and for
// the CLI on runners that hold a token instead of the passphrase.
import type { CommandModule, Argv } from "yargs";
import { availableParallelism, totalmem } from "node:os";
import { createWriteStream, readFileSync } from "node:fs";
import { isIP } from "node:net";
import { context, print, type GlobalArgs } from "./common";
import { ValidationError } from "../../provider/errors";

type ServerArgs = GlobalArgs & {
  listen: string;
  "tls-cert"?: string;
  "tls-key"?: string;
  "insecure-no-tls"?: boolean;
  "audit-log"?: string;
  "max-concurrent-issues"?: number;
  "max-queued"?: number;
  "shutdown-grace"?: string;
  "expiration-rescan"?: string;
  "sweep-interval"?: string;
  "warm-provider"?: boolean;
};

/** Engine runs at once: each is a `pulumi` and a provider process (about 1 CPU-second and 400 MiB). */
export function defaultConcurrency(cpus = availableParallelism(), memoryBytes = totalmem()): number {
  return Math.max(2, Math.min(cpus * 2, Math.floor(memoryBytes / (512 * 1024 * 1024))));
}

/** `host:port` (IPv6 in brackets); a non-loopback host needs TLS unless the user says otherwise. */
export function parseListen(value: string, tls: boolean, insecure: boolean): { host: string; port: number } {
  const m = /^(?:\[([^\]]+)\]|([^:]*)):(\d{1,5})$/.exec(value);
  const host = m ? (m[1] ?? m[2]) || "127.0.0.1" : "";
  const port = m ? Number(m[3]) : NaN;
  if (!m || port > 65535) throw new ValidationError([{ field: "--listen", reason: `"${value}" is not host:port (e.g. 127.0.0.1:8200)` }]);
  const loopback = host === "localhost" || host === "::1" || (isIP(host) === 4 && host.startsWith("127."));
  if (!loopback && !tls && !insecure) {
    throw new ValidationError([
      {
        field: "--listen",
        reason: `${host} is not a loopback address: give --tls-cert and --tls-key (or --insecure-no-tls to send tokens and credentials in clear text)`,
      },
    ]);
  }
  return { host, port };
}

function readPem(path: string, flag: string): Buffer {
  try {
    return readFileSync(path);
  } catch (err) {
    throw new ValidationError([{ field: flag, reason: `cannot read ${path}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}` }]);
  }
}

export const serverCommand: CommandModule<GlobalArgs, ServerArgs> = {
  command: "server",
  describe: "Serve Vault's HTTP API (AWS engine, leases, tokens, policies) over the lease table",
  builder: (y) =>
    y
      .option("listen", { type: "string", default: "127.0.0.1:8200", describe: "Address to listen on (non-loopback needs TLS)" })
      .option("tls-cert", { type: "string", describe: "PEM certificate (chain) for HTTPS" })
      .option("tls-key", { type: "string", describe: "PEM private key for HTTPS" })
      .option("insecure-no-tls", { type: "boolean", describe: "Allow plain HTTP on a non-loopback address" })
      .option("audit-log", { type: "string", describe: "Append one JSON line per request to this file (- for stdout); never a token or secret" })
      .option("max-concurrent-issues", {
        type: "number",
        describe: "Engine runs at once; more requests queue",
        defaultDescription: String(defaultConcurrency()),
      })
      .option("max-queued", { type: "number", describe: "Requests waiting for an engine slot before 503s", defaultDescription: "8 per slot" })
      .option("shutdown-grace", {
        type: "string",
        default: "30s",
        describe: "On SIGTERM, how long requests in flight may finish before their engine runs are cancelled",
      })
      .option("expiration-rescan", {
        type: "string",
        default: "30s",
        describe:
          "How often the lease table is read for leases issued elsewhere (each lease is revoked at its expiry), and at most how long until static roles are read again",
      })
      .option("sweep-interval", { type: "string", default: "10m", describe: "How often orphaned IAM users and unfinished issues are cleaned up (0 to never)" })
      .option("warm-provider", {
        type: "boolean",
        default: true,
        describe: "Engine runs attach to one long-running provider process instead of starting one each (Linux; --no-warm-provider to spawn)",
      })
      .check((a) => {
        if (!a["tls-cert"] !== !a["tls-key"]) throw new ValidationError([{ field: "--tls-cert", reason: "--tls-cert and --tls-key go together" }]);
        return true;
      })
      .example("$0 server", "Loopback only; prints the root token at first start")
      .example("$0 server --listen 0.0.0.0:8200 --tls-cert cert.pem --tls-key key.pem --audit-log audit.jsonl", "") as Argv<ServerArgs>,
  handler: async (argv) => {
    const { parseDuration } = await import("../../provider/duration");
    const tls = argv["tls-cert"] ? { cert: readPem(argv["tls-cert"], "--tls-cert"), key: readPem(argv["tls-key"]!, "--tls-key") } : undefined;
    const { host, port } = parseListen(argv.listen, !!tls, !!argv["insecure-no-tls"]);
    const maxConcurrent = argv["max-concurrent-issues"] ?? defaultConcurrency();
    if (!Number.isInteger(maxConcurrent) || maxConcurrent < 1)
      throw new ValidationError([{ field: "--max-concurrent-issues", reason: "must be a whole number >= 1" }]);
    const maxQueued = argv["max-queued"] ?? maxConcurrent * 8;
    const graceMs = parseDuration(argv["shutdown-grace"] ?? "30s", "--shutdown-grace") * 1000;
    const rescanMs = parseDuration(argv["expiration-rescan"] ?? "30s", "--expiration-rescan") * 1000;
    if (rescanMs < 1000) throw new ValidationError([{ field: "--expiration-rescan", reason: "must be at least 1s" }]);
    const sweepMs = parseDuration(argv["sweep-interval"] ?? "10m", "--sweep-interval") * 1000;

    // The server holds the passphrase (or secrets provider): refuse to start without it.
    const { engineEnv } = await import("../../service/pulumi/automation");
    engineEnv(context(argv, { logLines: true }));
    const { startWarmProvider, warmProviderSupported } = await import("../../service/pulumi/warmProvider");
    const log = (line: string) => process.stderr.write(`${line}\n`);
    if (argv["warm-provider"] && !warmProviderSupported())
      log("awslease: no warm provider here (/proc/net/tcp cannot tell who calls it): engine runs spawn their own");
    const warmProvider = argv["warm-provider"] && warmProviderSupported() ? await startWarmProvider({ log }) : undefined;
    const warm = warmProvider?.status();
    if (warm) log(`awslease: warm provider (pid ${warm.pid}, 127.0.0.1:${warm.port}): engine runs attach to it`);
    const ctx = context(argv, { warmProvider, logLines: true });
    await ctx.store.ready();
    const { bootstrapRootToken } = await import("../../service/auth/tokens");
    const root = await bootstrapRootToken(ctx, process.env.AWSLEASE_ROOT_TOKEN || undefined);
    if (root.token) {
      // Printed once: only its hash is kept.
      print(`Root token (shown once; only its hash is stored): ${root.token}`);
    } else if (root.created) ctx.progress("awslease: root token taken from AWSLEASE_ROOT_TOKEN");

    const auditStream =
      argv["audit-log"] === "-" ? process.stdout : argv["audit-log"] ? createWriteStream(argv["audit-log"], { flags: "a", mode: 0o600 }) : undefined;
    const { createVaultServer } = await import("../../server/app");
    const vault = createVaultServer({
      ctx,
      tls,
      maxConcurrent,
      maxQueued,
      audit: (entry) => auditStream?.write(`${JSON.stringify(entry)}\n`),
    });
    await new Promise<void>((resolve, reject) => {
      vault.server.once("error", (err) =>
        reject(new ValidationError([{ field: "--listen", reason: `cannot listen on ${argv.listen}: ${(err as NodeJS.ErrnoException).code ?? err.message}` }])),
      );
      vault.server.listen(port, host, () => resolve());
    });
    const address = vault.server.address();
    const shown =
      typeof address === "object" && address ? `${address.family === "IPv6" ? `[${address.address}]` : address.address}:${address.port}` : argv.listen;
    ctx.progress(`awslease: server listening on ${tls ? "https" : "http"}://${shown} (engine runs at once: ${maxConcurrent})`);

    const { ExpirationManager } = await import("../../service/expiration");
    const expiration = new ExpirationManager(ctx, { rescanMs, sweepMs });
    expiration.start();
    const { StaticRoleSchedule } = await import("../../service/staticRoleSchedule");
    const staticRoles = new StaticRoleSchedule(ctx, { rescanMs });
    staticRoles.start();

    const { cancelEngineRuns, forwardSignalsTo, killDescendants, exitCodeForSignal } = await import("../../service/pulumi/interrupts");
    await new Promise<void>((resolve) => {
      let stopping = false;
      forwardSignalsTo((signal) => {
        if (stopping) {
          // A second signal: do not wait for cleanups.
          killDescendants();
          process.exit(exitCodeForSignal(signal));
        }
        stopping = true;
        ctx.progress(`awslease: ${signal}: draining (${vault.inFlight()} request(s) in flight; engine runs cancelled after ${argv["shutdown-grace"]})`);
        const timer = setTimeout(() => {
          ctx.progress("awslease: grace period over: cancelling engine runs (issues in flight are rolled back)");
          cancelEngineRuns();
        }, graceMs);
        void Promise.all([vault.drain(), expiration.stop(), staticRoles.stop()]).then(async () => {
          clearTimeout(timer);
          await warmProvider?.stop();
          ctx.progress("awslease: server stopped");
          resolve();
        });
      });
    });
    if (auditStream && auditStream !== process.stdout) await new Promise<void>((resolve) => (auditStream as NodeJS.WritableStream).end(resolve));
  },
};
