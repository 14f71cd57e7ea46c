// Stack locks of the DIY backends (file, S3, ...): telling a stale lock from a live
// one, and breaking only stale ones. A DIY backend keeps one lock file per running
// operation and never expires it: a process killed with SIGKILL (or a lost machine)
// leaves its stack locked for good.
import { hostname } from "node:os";
import { StackLockedError, type StackLock } from "../../provider/errors";
import { runPulumi, type CommandResult, type EngineLocation, type Workspace } from "./automation";
import { commOf, isRunning, processAlive } from "./procfs";

// The lock error names each lock's owner, on every DIY backend:
//   "  <url>: created by <user>@<host> (pid <n>) at <RFC 3339 time>"

/** A lock that nothing will ever release: its pulumi process is gone, or it is older than this. */
export const STALE_LOCK_AFTER_MS = 15 * 60 * 1000;

/** The locks a failed engine run reports, or undefined when it did not fail on a lock. */
export function locksIn(err: unknown): StackLock[] | undefined {
  const text = `${(err as Error)?.message ?? ""}\n${(err as { commandResult?: CommandResult }).commandResult?.stderr ?? ""}`;
  if (!/the stack is currently locked by \d+ lock/.test(text)) return undefined;
  const locks: StackLock[] = [];
  for (const m of text.matchAll(/: created by (.*?)@(\S+) \(pid (\d+)\) at (\S+)/g)) {
    const lock = { user: m[1], host: m[2], pid: Number(m[3]), since: m[4] };
    // The message may be in both the error and its stderr.
    if (!locks.some((l) => l.pid === lock.pid && l.host === lock.host && l.since === lock.since)) locks.push(lock);
  }
  return locks;
}

/** Is a pulumi process with this pid running on this machine? (A reused pid runs something else.) */
function pulumiRunning(pid: number): boolean {
  const running = isRunning(pid);
  // Without /proc only whether the pid is there at all can be told.
  return running === undefined ? processAlive(pid) : running && commOf(pid) === "pulumi";
}

/** A DIY backend's lock file (`{"pid","username","hostname","timestamp"}`) as a StackLock. */
export function lockFromFile(content: string): StackLock {
  const lock = JSON.parse(content) as { pid?: number; hostname?: string; username?: string; timestamp?: string };
  return { pid: Number(lock.pid), host: String(lock.hostname), user: String(lock.username), since: String(lock.timestamp) };
}

export function isStaleLock(lock: StackLock, now = Date.now(), thisHost = hostname()): boolean {
  const since = Date.parse(lock.since);
  if (Number.isFinite(since) && now - since > STALE_LOCK_AFTER_MS) return true;
  return lock.host === thisHost && !pulumiRunning(lock.pid);
}

/** `pulumi cancel`: deletes every lock file of the stack. */
async function cancelStack(ws: Workspace, stackName: string): Promise<void> {
  await runPulumi(ws, ["cancel", "--yes", "--stack", stackName], {}, { cleanup: true });
}

/**
 * Runs an engine operation on a stack; if it fails on a stale lock (its pulumi process
 * is gone, or it is older than STALE_LOCK_AFTER_MS), breaks the lock and runs it once
 * more. A live lock is broken only when `breakLock` says so; otherwise the error says
 * how (`retryHint`).
 */
export async function withLockRecovery<T>(
  ws: Workspace,
  ctx: EngineLocation,
  stackName: string,
  run: () => Promise<T>,
  opts: { breakLock?: boolean; retryHint: string },
): Promise<T> {
  try {
    return await run();
  } catch (err) {
    const locks = locksIn(err);
    if (!locks) throw err;
    const stale = locks.length > 0 && locks.every((l) => isStaleLock(l));
    if (!stale && !opts.breakLock) throw new StackLockedError(stackName, locks, opts.retryHint);
    const owner = locks.map((l) => `pid ${l.pid} on ${l.host} since ${l.since}`).join(", ");
    ctx.progress(`awslease: breaking ${stale ? "stale " : ""}lock of ${stackName} (${owner})`);
    await cancelStack(ws, stackName);
    return run();
  }
}
