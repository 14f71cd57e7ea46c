// Process facts from Linux /proc, for lock and process-tree checks. Every function
// answers "unknown" (undefined, or nothing) where /proc is not there.
import { existsSync, readdirSync, readFileSync } from "node:fs";

/** The fields of /proc/<pid>/stat after "(comm)": state, ppid, ... */
function statFields(pid: number): string[] | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    return stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  } catch {
    return undefined;
  }
}

export function parentOf(pid: number): number | undefined {
  const fields = statFields(pid);
  return fields ? Number(fields[1]) : undefined;
}

/**
 * Is the process running? A zombie is not: it has exited and waits to be reaped, which
 * some containers' init never does, so its /proc entry (and comm) stay.
 * Undefined when /proc cannot tell.
 */
export function isRunning(pid: number): boolean | undefined {
  if (!existsSync("/proc/self/stat")) return undefined;
  const fields = statFields(pid);
  return fields !== undefined && fields[0] !== "Z" && fields[0] !== "X";
}

/** Is a process with this pid there (a zombie is not)? /proc where it exists, else a signal-0 probe. */
export function processAlive(pid: number): boolean {
  const running = isRunning(pid);
  if (running !== undefined) return running;
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === "EPERM"; // there, but another user's
  }
}

/** The process's executable name (at most 15 characters), or undefined when it is gone. */
export function commOf(pid: number): string | undefined {
  try {
    return readFileSync(`/proc/${pid}/comm`, "utf8").trim();
  } catch {
    return undefined;
  }
}

/** Every process below root, parents before children. */
export function descendantsOf(root: number): number[] {
  let entries: string[];
  try {
    entries = readdirSync("/proc").filter((e) => /^\d+$/.test(e));
  } catch {
    return [];
  }
  const children = new Map<number, number[]>();
  for (const e of entries) {
    const ppid = parentOf(Number(e));
    if (ppid !== undefined) children.set(ppid, [...(children.get(ppid) ?? []), Number(e)]);
  }
  const found: number[] = [];
  const walk = (pid: number) => {
    for (const child of children.get(pid) ?? []) {
      found.push(child);
      walk(child);
    }
  };
  walk(root);
  return found;
}

/**
 * The uid owning the client end of a loopback TCP connection to localPort, from
 * /proc/net/tcp: `peer` is the caller's address as gRPC gives it ("ipv4:127.0.0.1:54321"
 * or "127.0.0.1:54321"). Undefined when no such connection is there (or the peer is not
 * 127.0.0.1); null when /proc cannot tell.
 */
export function loopbackPeerUid(peer: string, localPort: number): number | undefined | null {
  let table: string;
  try {
    table = readFileSync("/proc/net/tcp", "utf8");
  } catch {
    return null;
  }
  const m = /(?:^|:)127\.0\.0\.1:(\d+)$/.exec(peer);
  if (!m) return undefined;
  const hex = (port: number) => `0100007F:${port.toString(16).toUpperCase().padStart(4, "0")}`;
  const [local, remote] = [hex(Number(m[1])), hex(localPort)];
  for (const line of table.split("\n").slice(1)) {
    // sl local_address rem_address st tx:rx tr:when retrnsmt uid ...
    const f = line.trim().split(/\s+/);
    if (f[1] === local && f[2] === remote) return Number(f[7]);
  }
  return undefined;
}
