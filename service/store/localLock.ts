// A lock file on this machine, for what must not run twice at once here: two AWS CLI
// calls starting credential_process together would otherwise both find no live lease
// and issue two. (Runners on other machines may still race: at worst one extra lease,
// revoked once it is replaced.) A lock whose process is gone, or that is older than
// STALE_AFTER_MS, is taken over.
import { mkdirSync, openSync, readFileSync, rmSync, writeSync, closeSync } from "node:fs";
import { createHash } from "node:crypto";
import { join } from "node:path";
import { processAlive } from "../pulumi/procfs";

/** Longer than any issue takes, even one waiting for new IAM keys to work. */
const STALE_AFTER_MS = 5 * 60 * 1000;
const POLL_MS = 100;

function readOrUndefined(path: string): string | undefined {
  try {
    return readFileSync(path, "utf8");
  } catch {
    return undefined;
  }
}

/** The lock's content when its holder is gone (to take it over), else undefined. */
function staleContent(path: string): string | undefined {
  const content = readOrUndefined(path);
  if (content === undefined) return undefined; // released since: try again
  try {
    const { pid, since } = JSON.parse(content) as { pid: number; since: number };
    if (Date.now() - since > STALE_AFTER_MS) return content;
    return processAlive(pid) ? undefined : content;
  } catch {
    return undefined; // half written: its holder is writing it now
  }
}

/** Runs fn holding the lock `name` under dir; waits (up to timeoutMs) while another process holds it. */
export async function withLocalLock<T>(dir: string, name: string, fn: () => Promise<T>, timeoutMs = STALE_AFTER_MS): Promise<T> {
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  const path = join(dir, `${createHash("sha256").update(name).digest("hex").slice(0, 32)}.lock`);
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      const fd = openSync(path, "wx", 0o600);
      writeSync(fd, JSON.stringify({ pid: process.pid, since: Date.now() }));
      closeSync(fd);
      break;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== "EEXIST") throw err;
      const stale = staleContent(path);
      // Removed only if it is still the lock judged stale, not one another waiter just took.
      if (stale !== undefined && readOrUndefined(path) === stale) {
        rmSync(path, { force: true });
        continue;
      }
      if (Date.now() > deadline) throw new Error(`timed out waiting for ${path}, held by another awslease process`, { cause: err });
      await new Promise((r) => setTimeout(r, POLL_MS));
    }
  }
  try {
    return await fn();
  } finally {
    rmSync(path, { force: true });
  }
}
