// The server's warm provider: one long-running Node dynamic-provider process
// (warmProviderProcess.ts) that every engine run of the server attaches to, through
// the engine's PULUMI_DEBUG_PROVIDERS=pulumi-nodejs:<port>. A spawned provider costs
// each run ~0.3 s of Node and @pulumi/pulumi start-up and a cold AWS SDK (~0.2 s more
// per Create); see scripts/experiments/README.md for the measurements.
//
// Why it is safe to share:
// - The provider operations keep no per-run state (AWS clients are built per call);
//   the one per-run input, a mount's current root settings for a revoke, is sent
//   before the run (useMountSettings).
// - Only processes of this user may call it (a loopback port is open to every user;
//   the peer's uid is read from /proc/net/tcp). Where /proc cannot tell, it is not used.
// - When it is down (crashed, restarting), runs get no PULUMI_DEBUG_PROVIDERS and spawn
//   their own provider as the CLI does. A crash fails the runs attached to it; a failed
//   issue is rolled back and a failed revoke retried, as for any engine failure.
import { fork, type ChildProcess } from "node:child_process";
import { join } from "node:path";
import type { MountSettings } from "../../provider/types";
import { PACKAGE_ROOT } from "./automation";
import { loopbackPeerUid, processAlive } from "./procfs";

export interface WarmProvider {
  /** Environment for an engine run: attach to the warm process when it is up (else nothing: spawn). */
  env(): Record<string, string>;
  /** A mount's current root settings (rotated keys), for the revokes that follow. */
  useMountSettings(settings: MountSettings): Promise<void>;
  /** Its pid and gRPC port while it is up. */
  status(): { pid: number; port: number } | undefined;
  /** Stops the process (after the server has drained). */
  stop(): Promise<void>;
}

/** Can a loopback peer's user be told here (Linux /proc)? */
export function warmProviderSupported(): boolean {
  return typeof process.getuid === "function" && loopbackPeerUid("127.0.0.1:1", 1) !== null;
}

/** Variables a provider never needs: the passphrase and tokens stay in the server. */
const WITHHELD = /^(PULUMI_CONFIG_PASSPHRASE(_FILE)?|AWSLEASE_ROOT_TOKEN|AWSLEASE_TOKEN|NODE_OPTIONS)$/;

const RESTART_FIRST_MS = 1_000;
const RESTART_MAX_MS = 30_000;
const ANSWER_TIMEOUT_MS = 10_000;

export async function startWarmProvider(opts: { log: (line: string) => void }): Promise<WarmProvider> {
  let child: ChildProcess | undefined;
  let port: number | undefined;
  let stopped = false;
  let restartMs = RESTART_FIRST_MS;
  let restarts = 0;
  let nextId = 1;
  const pending = new Map<number, () => void>();
  /** The latest settings per mount, sent again to a restarted process. */
  const known = new Map<string, MountSettings>();

  const launch = () =>
    new Promise<void>((resolve) => {
      const env: Record<string, string> = { PULUMI_NODEJS_PROJECT: "awslease", PULUMI_PROJECT: "awslease" };
      for (const [k, v] of Object.entries(process.env)) if (v !== undefined && !WITHHELD.test(k)) env[k] = v;
      const started = Date.now();
      const proc = fork(join(__dirname, "warmProviderProcess.js"), [], { cwd: PACKAGE_ROOT, env, stdio: ["ignore", "ignore", "pipe", "ipc"], execArgv: [] });
      child = proc;
      proc.stderr!.on("data", (d) => {
        for (const line of String(d).split("\n")) if (line.trim()) opts.log(`awslease: warm provider: ${line.trim()}`);
      });
      proc.on("message", (m: { type?: string; port?: number; id?: number }) => {
        if (m?.type === "ready" && typeof m.port === "number") {
          for (const settings of known.values()) proc.send({ type: "mountSettings", id: 0, settings });
          port = m.port;
          if (restarts > 0) opts.log(`awslease: warm provider back (pid ${proc.pid}, 127.0.0.1:${m.port})`);
          resolve();
        } else if (m?.type === "ack" && typeof m.id === "number") {
          pending.get(m.id)?.();
          pending.delete(m.id);
        }
      });
      proc.on("exit", (code, signal) => {
        if (child === proc) {
          child = undefined;
          port = undefined;
        }
        for (const answer of pending.values()) answer();
        pending.clear();
        resolve();
        if (stopped) return;
        // Runs spawn their own provider until it is back.
        const healthy = Date.now() - started > 60_000;
        restartMs = healthy ? RESTART_FIRST_MS : Math.min(restartMs * 2, RESTART_MAX_MS);
        opts.log(`awslease: warm provider exited (${signal ?? `code ${code}`}); engine runs spawn their own provider; restarting in ${restartMs / 1000}s`);
        restarts++;
        setTimeout(() => void (stopped ? undefined : launch()), restartMs).unref();
      });
    });

  await launch();
  if (port === undefined) opts.log("awslease: warm provider did not start; engine runs spawn their own provider");

  return {
    status: () => (child?.pid !== undefined && port !== undefined ? { pid: child.pid, port } : undefined),
    env(): Record<string, string> {
      // Dead but not yet reaped (its exit event still queued): spawn.
      if (port === undefined || !child?.pid || !processAlive(child.pid)) return {};
      return { PULUMI_DEBUG_PROVIDERS: `pulumi-nodejs:${port}` };
    },
    useMountSettings(settings) {
      known.set(settings.mount, settings);
      const proc = child;
      if (!proc || port === undefined) return Promise.resolve();
      const id = nextId++;
      return new Promise<void>((resolve) => {
        const timer = setTimeout(() => {
          pending.delete(id);
          resolve();
        }, ANSWER_TIMEOUT_MS);
        pending.set(id, () => {
          clearTimeout(timer);
          resolve();
        });
        proc.send({ type: "mountSettings", id, settings });
      });
    },
    async stop() {
      stopped = true;
      const proc = child;
      if (!proc) return;
      await new Promise<void>((resolve) => {
        proc.once("exit", () => resolve());
        proc.kill("SIGTERM");
      });
    },
  };
}
