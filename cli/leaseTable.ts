// The lease-table reader: every lease stack of a mount, with its record, in one pass.
// On a file backend it reads the stacks' checkpoint files directly (no engine process
// per lease, and one corrupt file is reported by name instead of failing `pulumi stack
// ls` for the whole table). On other backends it asks the engine, stack by stack.
// Only non-secret outputs are read: listing never needs or uses the passphrase.
import { existsSync, readdirSync, readFileSync, statSync } from "node:fs";
import { homedir } from "node:os";
import { isAbsolute, join } from "node:path";
import { gunzipSync } from "node:zlib";
import { leaseStackName, parseLeaseStackName } from "../provider/names";
import { engineErrorLine, listStacks, readOutputs, PROJECT, type Workspace } from "./automation";
import type { LeaseRecord } from "./leases";

/** One lease stack. No record: an issue still running, or one that never finished. */
export interface LeaseStack {
  stackName: string;
  /** The lease id's last part. */
  id: string;
  /** When the stack's state was last written. */
  lastUpdate?: string;
  record?: LeaseRecord;
}

/** A stack whose state cannot be read (e.g. a truncated file): reported, never guessed at. */
export interface UnreadableStack {
  stackName: string;
  error: string;
}

export interface LeaseTable {
  stacks: LeaseStack[];
  unreadable: UnreadableStack[];
}

/** The directory holding this project's checkpoint files, for a file:// backend in the project layout. */
function checkpointDir(backend: string): string | undefined {
  if (!backend.startsWith("file://")) return undefined;
  let root = backend.slice("file://".length).split("?")[0];
  if (root === "~" || root.startsWith("~/")) root = join(homedir(), root.slice(1));
  if (!isAbsolute(root)) return undefined;
  const meta = join(root, ".pulumi", "meta.yaml");
  // Version 1 is the project layout (.pulumi/stacks/<project>/<stack>.json); older
  // backends are read through the engine.
  if (!existsSync(meta) || !/^version:\s*1\s*$/m.test(readFileSync(meta, "utf8"))) return undefined;
  return join(root, ".pulumi", "stacks", PROJECT);
}

/** The lease record in a checkpoint file's content: the root stack's `lease` output. */
function recordInCheckpoint(content: Buffer, gzipped: boolean): LeaseRecord | undefined {
  const doc = JSON.parse((gzipped ? gunzipSync(content) : content).toString("utf8")) as {
    checkpoint?: { latest?: { resources?: { type: string; outputs?: Record<string, unknown> }[] } };
  };
  if (!doc || typeof doc !== "object" || !doc.checkpoint) throw new Error("not a Pulumi checkpoint");
  const root = doc.checkpoint.latest?.resources?.find((r) => r.type === "pulumi:pulumi:Stack");
  return root?.outputs?.lease as LeaseRecord | undefined;
}

function readCheckpointFile(dir: string, file: string): { record?: LeaseRecord; lastUpdate: string } {
  const path = join(dir, file);
  return {
    record: recordInCheckpoint(readFileSync(path), file.endsWith(".gz")),
    lastUpdate: statSync(path).mtime.toISOString(),
  };
}

/** `lease-<mount>-<id>.json` or `.json.gz`; not backups (.bak) or attributes (.attrs). */
function stackOfFile(file: string): string | undefined {
  const m = /^(lease-.+)\.json(\.gz)?$/.exec(file);
  return m ? m[1] : undefined;
}

function unreadable(stackName: string, where: string, err: unknown): UnreadableStack {
  return { stackName, error: `${where}: ${engineErrorLine(err)}` };
}

/** Every lease stack of the mount. */
export async function readLeaseTable(ws: Workspace, backend: string, mount: string): Promise<LeaseTable> {
  const table: LeaseTable = { stacks: [], unreadable: [] };
  const dir = checkpointDir(backend);
  if (dir) {
    const files = existsSync(dir) ? readdirSync(dir) : [];
    for (const file of files.sort()) {
      const stackName = stackOfFile(file);
      const parsed = stackName ? parseLeaseStackName(stackName) : undefined;
      if (!stackName || parsed?.mount !== mount) continue;
      try {
        table.stacks.push({ stackName, id: parsed.id, ...readCheckpointFile(dir, file) });
      } catch (err) {
        table.unreadable.push(unreadable(stackName, join(dir, file), err));
      }
    }
    return table;
  }
  const stacks = (await listStacks(ws)).filter((s) => parseLeaseStackName(s.name)?.mount === mount);
  // A few at a time: each read is one `pulumi stack output` process.
  for (let i = 0; i < stacks.length; i += 4) {
    await Promise.all(
      stacks.slice(i, i + 4).map(async (s) => {
        try {
          const outs = await readOutputs(ws, s.name, { secrets: false });
          if (!outs) return; // removed since the listing
          const id = parseLeaseStackName(s.name)!.id;
          table.stacks.push({ stackName: s.name, id, lastUpdate: s.lastUpdate, record: outs.lease as LeaseRecord | undefined });
        } catch (err) {
          table.unreadable.push(unreadable(s.name, `stack ${s.name}`, err));
        }
      }),
    );
  }
  return table;
}

/**
 * One lease stack, or undefined when there is none. Throws, naming the file or
 * stack, when its state cannot be read.
 */
export async function readLeaseStack(ws: Workspace, backend: string, mount: string, id: string): Promise<LeaseStack | undefined> {
  const stackName = leaseStackName(mount, id);
  const dir = checkpointDir(backend);
  if (dir) {
    const file = [`${stackName}.json`, `${stackName}.json.gz`].find((f) => existsSync(join(dir, f)));
    if (!file) return undefined;
    try {
      return { stackName, id, ...readCheckpointFile(dir, file) };
    } catch (err) {
      throw new UnreadableStackError(unreadable(stackName, join(dir, file), err));
    }
  }
  let outs: Record<string, unknown> | undefined;
  try {
    outs = await readOutputs(ws, stackName, { secrets: false });
  } catch (err) {
    throw new UnreadableStackError(unreadable(stackName, `stack ${stackName}`, err));
  }
  return outs ? { stackName, id, record: outs.lease as LeaseRecord | undefined } : undefined;
}

/** Does the stack exist? (A file check on a file backend, else one engine run.) */
export async function stackExists(ws: Workspace, backend: string, stackName: string): Promise<boolean> {
  const dir = checkpointDir(backend);
  if (dir) return [`${stackName}.json`, `${stackName}.json.gz`].some((f) => existsSync(join(dir, f)));
  return (await readOutputs(ws, stackName, { secrets: false })) !== undefined;
}

/** A lease stack whose state cannot be read: an engine/backend error (exit 2). */
export class UnreadableStackError extends Error {
  constructor(readonly unreadable: UnreadableStack) {
    super(`the state of lease stack ${unreadable.stackName} cannot be read (${unreadable.error})`);
    this.name = "UnreadableStackError";
  }
}
