// The lease-table reader: every lease stack of a mount, with its record, in one pass.
// On a file or S3 backend it reads the stacks' checkpoint files directly (no engine
// process per lease, and one corrupt file is reported by name instead of failing
// `pulumi stack ls` for the whole table). On other backends (Pulumi Cloud, azblob, gs,
// postgres) it asks the engine, stack by stack. Only non-secret outputs are read:
// listing never needs or uses the passphrase.
import { gunzipSync } from "node:zlib";
import { leaseStackName, parseControlStackName, parseLeaseStackName } from "../../provider/names";
import { settleWithConcurrency } from "../../provider/concurrency";
import { engineErrorLine, listStacks, readOutputs, PROJECT, type Workspace } from "../pulumi/automation";
import { isStaleLock, lockFromFile } from "../pulumi/stackLocks";
import type { LeaseRecord, LeaseStack, LeaseTable, UnreadableStack } from "../ports";
import { backendStore, type BackendStore } from "./backendStore";
import { configuredPassphrase, holdsSecret, passphraseKey, revealSecrets } from "./checkpointSecrets";

/** Where a DIY backend in the project layout keeps this project's stack files, and their locks. */
export const STACKS_DIR = `.pulumi/stacks/${PROJECT}`;
const LOCKS_DIR = `.pulumi/locks/organization/${PROJECT}`;

/** Reads of the stacks directory of a store, by stack file name. */
function stackFiles(store: BackendStore) {
  return {
    describe: (file: string) => store.describe(`${STACKS_DIR}/${file}`),
    list: () => store.list(STACKS_DIR),
    read: (file: string) => store.read(`${STACKS_DIR}/${file}`),
    exists: (file: string) => store.exists(`${STACKS_DIR}/${file}`),
  };
}
type StackFiles = ReturnType<typeof stackFiles>;

/** Checkpoints read at once (S3 round trips). */
const READ_CONCURRENCY = 16;

/**
 * Stacks an engine run holds now: a lock file `<locks dir>/<stack>/<lock>.json` (one
 * listing for all) that is not stale (its pulumi is gone, or it is too old: see
 * stackLocks.ts). A lock file that cannot be read counts as live.
 */
async function lockedStacks(store: BackendStore, only?: string): Promise<Set<string>> {
  // Not the file backend's `.json.attrs` sidecars: only `<stack>/<lock>.json`.
  const dir = only ? `${LOCKS_DIR}/${only}` : LOCKS_DIR;
  const files = (await store.listAll(dir)).map((f) => ({ ...f, name: only ? `${only}/${f.name}` : f.name })).filter((f) => /^[^/]+\/[^/]+\.json$/.test(f.name));
  const live = await settleWithConcurrency(files, READ_CONCURRENCY, async (f) => {
    const got = await store.read(`${LOCKS_DIR}/${f.name}`);
    if (!got) return false; // released since the listing
    return !isStaleLock(lockFromFile(got.content.toString("utf8")));
  });
  return new Set(files.filter((_, i) => live[i].status === "rejected" || (live[i] as PromiseFulfilledResult<boolean>).value).map((f) => f.name.split("/")[0]));
}

/** What awslease reads of a stack's checkpoint: its secrets provider and the root stack's outputs. */
export interface Checkpoint {
  /** organization/<project>/<stack> */
  stack?: string;
  latest?: {
    manifest?: { version?: string };
    secrets_providers?: { type?: string; state?: unknown };
    resources?: { type: string; outputs?: Record<string, unknown> }[];
  };
}

/** A checkpoint file's content (`.json`, or `.json.gz` gzipped), parsed. */
export function parseCheckpoint(content: Buffer, gzipped: boolean): Checkpoint {
  const doc = JSON.parse((gzipped ? gunzipSync(content) : content).toString("utf8")) as { checkpoint?: Checkpoint };
  if (!doc || typeof doc !== "object" || !doc.checkpoint) throw new Error("not a Pulumi checkpoint");
  return doc.checkpoint;
}

/** The stack's outputs: those of its root `pulumi:pulumi:Stack` resource. */
function stackOutputs(checkpoint: Checkpoint): Record<string, unknown> | undefined {
  return checkpoint.latest?.resources?.find((r) => r.type === "pulumi:pulumi:Stack")?.outputs;
}

/** The files a stack's checkpoint may be in. */
function checkpointFiles(stackName: string): string[] {
  return [`${stackName}.json`, `${stackName}.json.gz`];
}

/** The first of `files` that exists, read, or undefined when none does. */
async function readFirst(store: StackFiles, files: string[]): Promise<{ file: string; content: Buffer; lastUpdate: string } | undefined> {
  for (const file of files) {
    const got = await store.read(file);
    if (got) return { file, ...got };
  }
  return undefined;
}

/** `lease-<mount>-<key>.json` or `.json.gz`; not backups (.bak) or attributes (.attrs). */
function stackOfFile(file: string): string | undefined {
  const m = /^(lease-.+)\.json(\.gz)?$/.exec(file);
  return m ? m[1] : undefined;
}

function unreadable(stackName: string, where: string, err: unknown): UnreadableStack {
  return { stackName, error: `${where}: ${engineErrorLine(err)}` };
}

/** A stack's checkpoint (the first of `files` there) as a LeaseStack; a file that cannot be parsed is reported by name. */
async function readStackFile(store: StackFiles, stackName: string, key: string, files: string[]): Promise<LeaseStack | undefined> {
  let file = files[0];
  try {
    const got = await readFirst(store, files);
    if (!got) return undefined;
    file = got.file;
    const record = stackOutputs(parseCheckpoint(got.content, file.endsWith(".gz")))?.lease as LeaseRecord | undefined;
    return { stackName, key, lastUpdate: got.lastUpdate, record };
  } catch (err) {
    throw new UnreadableStackError(unreadable(stackName, store.describe(file), err));
  }
}

/** Every lease stack of the mount: one listing and a read per stack, no engine process where the backend allows. */
export async function readLeaseTable(ws: Workspace, backend: string, mount: string): Promise<LeaseTable> {
  const table: LeaseTable = { stacks: [], unreadable: [] };
  const backendFiles = await backendStore(backend);
  if (backendFiles) {
    const store = stackFiles(backendFiles);
    // The locks first: a stack locked now and gone from the listing below was being removed.
    const [locked, listed] = await Promise.all([lockedStacks(backendFiles), store.list()]);
    const files = listed
      .map((f) => ({ file: f.name, stackName: stackOfFile(f.name) }))
      .filter((f) => f.stackName && parseLeaseStackName(f.stackName)?.mount === mount)
      .sort((a, b) => a.file.localeCompare(b.file));
    const settled = await settleWithConcurrency(files, READ_CONCURRENCY, async (f) => {
      const stack = await readStackFile(store, f.stackName!, parseLeaseStackName(f.stackName!)!.key, [f.file]);
      return stack && locked.has(stack.stackName) ? { ...stack, locked: true } : stack;
    });
    settled.forEach((r) => {
      if (r.status === "rejected") {
        if (!(r.reason instanceof UnreadableStackError)) throw r.reason;
        table.unreadable.push(r.reason.unreadable);
      } else if (r.value) {
        table.stacks.push(r.value); // undefined: removed since the listing
      }
    });
    return table;
  }
  const stacks = (await listStacks(ws)).filter((s) => parseLeaseStackName(s.name)?.mount === mount);
  // Each read is one `pulumi stack output` process: a few at a time.
  const settled = await settleWithConcurrency(stacks, 4, async (s) => readOutputs(ws, s.name, { secrets: false }));
  settled.forEach((r, i) => {
    const s = stacks[i];
    if (r.status === "rejected") table.unreadable.push(unreadable(s.name, `stack ${s.name}`, r.reason));
    else if (r.value)
      table.stacks.push({
        stackName: s.name,
        key: parseLeaseStackName(s.name)!.key,
        lastUpdate: s.lastUpdate,
        record: r.value.lease as LeaseRecord | undefined,
      });
  });
  return table;
}

/**
 * One lease stack, or undefined when there is none. Throws, naming the file or
 * stack, when its state cannot be read.
 */
export async function readLeaseStack(ws: Workspace, backend: string, mount: string, key: string): Promise<LeaseStack | undefined> {
  const stackName = leaseStackName(mount, key);
  const backendFiles = await backendStore(backend);
  if (backendFiles) {
    const store = stackFiles(backendFiles);
    const [locked, stack] = await Promise.all([lockedStacks(backendFiles, stackName), readStackFile(store, stackName, key, checkpointFiles(stackName))]);
    return stack && locked.has(stackName) ? { ...stack, locked: true } : stack;
  }
  let outs: Record<string, unknown> | undefined;
  try {
    outs = await readOutputs(ws, stackName, { secrets: false });
  } catch (err) {
    throw new UnreadableStackError(unreadable(stackName, `stack ${stackName}`, err));
  }
  return outs ? { stackName, key, record: outs.lease as LeaseRecord | undefined } : undefined;
}

/** Does the stack exist? (A look at the backend where awslease reads it, else one engine run.) */
export async function stackExists(ws: Workspace, backend: string, stackName: string): Promise<boolean> {
  const backendFiles = await backendStore(backend);
  if (backendFiles) {
    const store = stackFiles(backendFiles);
    for (const file of checkpointFiles(stackName)) if (await store.exists(file)) return true;
    return false;
  }
  return (await readOutputs(ws, stackName, { secrets: false })) !== undefined;
}

/** The mounts in the backend: its control stacks (one listing, or `pulumi stack ls`). */
export async function listMounts(ws: Workspace, backend: string): Promise<string[]> {
  const names = await stackNames(ws, backend, "mount-");
  return [...new Set(names.map(parseControlStackName).filter((m): m is string => !!m))].sort();
}

/** This project's stack names that start with prefix, from one listing of the backend where it can be read. */
export async function stackNames(ws: Workspace, backend: string, prefix: string): Promise<string[]> {
  const backendFiles = await backendStore(backend);
  const names = backendFiles
    ? (await stackFiles(backendFiles).list()).map((f) => /^(.+)\.json(\.gz)?$/.exec(f.name)?.[1])
    : (await listStacks(ws)).map((s) => s.name);
  return [...new Set(names.filter((n): n is string => !!n && n.startsWith(prefix)))].sort();
}

/**
 * A stack's outputs with their secrets decrypted, or undefined when the stack does not
 * exist: in-process from the checkpoint where the backend is read directly and the
 * stack uses the passphrase provider (no engine process; see checkpointSecrets.ts),
 * else by `pulumi stack output --show-secrets`. Any surprise in-process (a wrong
 * passphrase too) goes to the engine, whose error is the one users see.
 */
export async function readStackOutputs(ws: Workspace, backend: string, stackName: string): Promise<Record<string, unknown> | undefined> {
  const backendFiles = await backendStore(backend);
  const passphrase = configuredPassphrase();
  if (backendFiles && passphrase !== undefined) {
    try {
      const read = await outputsFromCheckpoint(stackFiles(backendFiles), stackName, passphrase);
      if (read.found) return read.outputs;
    } catch {
      // The engine decides.
    }
  }
  return readOutputs(ws, stackName, { secrets: true });
}

/** One secret output of a stack, decrypted (see readStackOutputs); undefined when the stack or the output does not exist. */
export async function readSecretOutput(ws: Workspace, backend: string, stackName: string, name: string): Promise<unknown> {
  return (await readStackOutputs(ws, backend, stackName))?.[name];
}

/** found: false when the stack's secrets are not the passphrase provider's (the engine must decrypt). */
async function outputsFromCheckpoint(store: StackFiles, stackName: string, passphrase: string): Promise<{ found: boolean; outputs?: Record<string, unknown> }> {
  const got = await readFirst(store, checkpointFiles(stackName));
  if (!got) return { found: true, outputs: undefined };
  const checkpoint = parseCheckpoint(got.content, got.file.endsWith(".gz"));
  const outputs = stackOutputs(checkpoint) ?? {};
  if (!holdsSecret(outputs)) return { found: true, outputs };
  const provider = checkpoint.latest?.secrets_providers;
  if (provider?.type !== "passphrase") return { found: false };
  return { found: true, outputs: revealSecrets(await passphraseKey(provider.state, passphrase), outputs) as Record<string, unknown> };
}

/**
 * The passphrase salt in a stack's state, where the backend is read directly. A run
 * given it as the stack's `encryptionsalt` opens the stack's secrets with one key
 * derivation; without it, pulumi makes a new salt and derives twice (~0.14 s more).
 */
export async function stateEncryptionSalt(backend: string, stackName: string): Promise<string | undefined> {
  const store = await backendStore(backend);
  const got = store && (await readFirst(stackFiles(store), checkpointFiles(stackName)));
  if (!got) return undefined;
  const provider = parseCheckpoint(got.content, got.file.endsWith(".gz")).latest?.secrets_providers;
  const salt = (provider?.state as { salt?: unknown } | undefined)?.salt;
  return provider?.type === "passphrase" && typeof salt === "string" && /^v1:[A-Za-z0-9+/=]+:v1:[A-Za-z0-9+/=:]+$/.test(salt) ? salt : undefined;
}

/** A lease stack whose state cannot be read: an engine/backend error (exit 2). */
export class UnreadableStackError extends Error {
  constructor(readonly unreadable: UnreadableStack) {
    super(`the state of lease stack ${unreadable.stackName} cannot be read (${unreadable.error})`);
    this.name = "UnreadableStackError";
  }
}
