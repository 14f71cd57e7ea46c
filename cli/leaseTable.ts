// The lease-table reader: every lease stack of a mount, with its record, in one pass.
// On a file or S3 backend it reads the stacks' checkpoint files directly (no engine
// process per lease, and one corrupt file is reported by name instead of failing
// `pulumi stack ls` for the whole table). On other backends (Pulumi Cloud, azblob, gs,
// postgres) it asks the engine, stack by stack. Only non-secret outputs are read:
// listing never needs or uses the passphrase.
import { existsSync, readdirSync, readFileSync, statSync } from "node:fs";
import { homedir } from "node:os";
import { isAbsolute, join } from "node:path";
import { gunzipSync } from "node:zlib";
import { leaseStackName, parseLeaseStackName } from "../provider/names";
import { engineErrorLine, listStacks, readOutputs, PROJECT, type Workspace } from "./automation";
import { settleWithConcurrency } from "../provider/concurrency";
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

/**
 * Read access to the stack checkpoint files of a DIY backend in the project layout
 * (`.pulumi/stacks/<project>/<stack>.json[.gz]`, meta.yaml version 1): a directory for
 * file://, the bucket for s3://. Undefined where awslease does not read the backend
 * itself (other backends, URL options it does not know, the legacy layout): the
 * engine is asked instead.
 */
interface CheckpointStore {
  /** Where, for messages. */
  describe(file: string): string;
  /** Checkpoint file names with their last write time. */
  list(): Promise<{ file: string; lastUpdate: string }[]>;
  /** The file's content and last write time, or undefined when it does not exist. */
  read(file: string): Promise<{ content: Buffer; lastUpdate: string } | undefined>;
  exists(file: string): Promise<boolean>;
}

const stores = new Map<string, Promise<CheckpointStore | undefined>>();

function checkpointStore(backend: string): Promise<CheckpointStore | undefined> {
  let store = stores.get(backend);
  if (!store) {
    store = backend.startsWith("file://") ? Promise.resolve(fileStore(backend)) : backend.startsWith("s3://") ? s3Store(backend) : Promise.resolve(undefined);
    stores.set(backend, store);
  }
  return store;
}

const PROJECT_LAYOUT = /^version:\s*1\s*$/m;

function fileStore(backend: string): CheckpointStore | undefined {
  let root = backend.slice("file://".length).split("?")[0];
  if (root === "~" || root.startsWith("~/")) root = join(homedir(), root.slice(1));
  if (!isAbsolute(root)) return undefined;
  const meta = join(root, ".pulumi", "meta.yaml");
  if (!existsSync(meta) || !PROJECT_LAYOUT.test(readFileSync(meta, "utf8"))) return undefined;
  const dir = join(root, ".pulumi", "stacks", PROJECT);
  return {
    describe: (file) => join(dir, file),
    list: async () =>
      (existsSync(dir) ? readdirSync(dir) : []).flatMap((file) => {
        const st = statSync(join(dir, file), { throwIfNoEntry: false });
        return st?.isFile() ? [{ file, lastUpdate: st.mtime.toISOString() }] : [];
      }),
    read: async (file) => {
      const path = join(dir, file);
      if (!existsSync(path)) return undefined;
      return { content: readFileSync(path), lastUpdate: statSync(path).mtime.toISOString() };
    },
    exists: async (file) => existsSync(join(dir, file)),
  };
}

/** The s3:// URL options gocloud's s3blob takes that awslease understands; any other sends reads to the engine. */
const KNOWN_S3_OPTIONS = new Set(["region", "endpoint", "use_path_style", "s3ForcePathStyle", "disableSSL", "disable_https", "request_checksum_calculation"]);

/** Checkpoints read in parallel from S3. */
const S3_READ_CONCURRENCY = 16;

async function s3Store(backend: string): Promise<CheckpointStore | undefined> {
  let url: URL;
  try {
    url = new URL(backend);
  } catch {
    return undefined;
  }
  if ([...url.searchParams.keys()].some((k) => !KNOWN_S3_OPTIONS.has(k))) return undefined;
  const region = url.searchParams.get("region") ?? process.env.AWS_REGION ?? process.env.AWS_DEFAULT_REGION;
  if (!region || !url.hostname) return undefined;
  const insecure = ["disableSSL", "disable_https"].some((k) => url.searchParams.get(k) === "true");
  let endpoint = url.searchParams.get("endpoint") ?? undefined;
  if (endpoint && !endpoint.includes("://")) endpoint = `${insecure ? "http" : "https"}://${endpoint}`;
  const pathStyle = ["use_path_style", "s3ForcePathStyle"].some((k) => url.searchParams.get(k) === "true");
  const path = decodeURIComponent(url.pathname).replace(/^\/+/, "");
  const state = { bucket: url.hostname, prefix: path && !path.endsWith("/") ? `${path}/` : path, region, endpoint, forcePathStyle: pathStyle };
  const { stateBucketClient } = require("../provider/aws/clients") as typeof import("../provider/aws/clients");
  const { GetObjectCommand, HeadObjectCommand, ListObjectsV2Command } = require("@aws-sdk/client-s3") as typeof import("@aws-sdk/client-s3");
  const s3 = stateBucketClient(state);
  const get = async (key: string) => {
    try {
      const r = await s3.send(new GetObjectCommand({ Bucket: state.bucket, Key: key }));
      return { content: Buffer.from(await r.Body!.transformToByteArray()), lastUpdate: (r.LastModified ?? new Date()).toISOString() };
    } catch (err) {
      if ((err as { name?: string }).name === "NoSuchKey") return undefined;
      throw err;
    }
  };
  const meta = await get(`${state.prefix}.pulumi/meta.yaml`).catch(() => undefined);
  if (!meta || !PROJECT_LAYOUT.test(meta.content.toString("utf8"))) return undefined;
  const dir = `${state.prefix}.pulumi/stacks/${PROJECT}/`;
  return {
    describe: (file) => `s3://${state.bucket}/${dir}${file}`,
    list: async () => {
      const files: { file: string; lastUpdate: string }[] = [];
      let token: string | undefined;
      do {
        const page = await s3.send(new ListObjectsV2Command({ Bucket: state.bucket, Prefix: dir, ContinuationToken: token }));
        for (const o of page.Contents ?? []) {
          const file = o.Key!.slice(dir.length);
          if (!file.includes("/")) files.push({ file, lastUpdate: (o.LastModified ?? new Date()).toISOString() });
        }
        token = page.IsTruncated ? page.NextContinuationToken : undefined;
      } while (token);
      return files;
    },
    read: (file) => get(dir + file),
    exists: async (file) => {
      try {
        await s3.send(new HeadObjectCommand({ Bucket: state.bucket, Key: dir + file }));
        return true;
      } catch (err) {
        if ((err as { name?: string }).name === "NotFound" || (err as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode === 404) return false;
        throw err;
      }
    },
  };
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

/** `lease-<mount>-<id>.json` or `.json.gz`; not backups (.bak) or attributes (.attrs). */
function stackOfFile(file: string): string | undefined {
  const m = /^(lease-.+)\.json(\.gz)?$/.exec(file);
  return m ? m[1] : undefined;
}

function unreadable(stackName: string, where: string, err: unknown): UnreadableStack {
  return { stackName, error: `${where}: ${engineErrorLine(err)}` };
}

/** Reads one checkpoint file into a LeaseStack; a file that cannot be parsed is reported by name. */
async function readStackFile(store: CheckpointStore, stackName: string, id: string, file: string): Promise<LeaseStack | undefined> {
  let got: { content: Buffer; lastUpdate: string } | undefined;
  try {
    got = await store.read(file);
    if (!got) return undefined;
    return { stackName, id, lastUpdate: got.lastUpdate, record: recordInCheckpoint(got.content, file.endsWith(".gz")) };
  } catch (err) {
    throw new UnreadableStackError(unreadable(stackName, store.describe(file), err));
  }
}

/** Every lease stack of the mount: one listing and a read per stack, no engine process where the backend allows. */
export async function readLeaseTable(ws: Workspace, backend: string, mount: string): Promise<LeaseTable> {
  const table: LeaseTable = { stacks: [], unreadable: [] };
  const store = await checkpointStore(backend);
  if (store) {
    const files = (await store.list())
      .map((f) => ({ ...f, stackName: stackOfFile(f.file) }))
      .filter((f) => f.stackName && parseLeaseStackName(f.stackName)?.mount === mount)
      .sort((a, b) => a.file.localeCompare(b.file));
    const settled = await settleWithConcurrency(files, S3_READ_CONCURRENCY, (f) =>
      readStackFile(store, f.stackName!, parseLeaseStackName(f.stackName!)!.id, f.file),
    );
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
    else if (r.value) table.stacks.push({ stackName: s.name, id: parseLeaseStackName(s.name)!.id, lastUpdate: s.lastUpdate, record: r.value.lease as LeaseRecord | undefined });
  });
  return table;
}

/**
 * One lease stack, or undefined when there is none. Throws, naming the file or
 * stack, when its state cannot be read.
 */
export async function readLeaseStack(ws: Workspace, backend: string, mount: string, id: string): Promise<LeaseStack | undefined> {
  const stackName = leaseStackName(mount, id);
  const store = await checkpointStore(backend);
  if (store) {
    return (await readStackFile(store, stackName, id, `${stackName}.json`)) ?? (await readStackFile(store, stackName, id, `${stackName}.json.gz`));
  }
  let outs: Record<string, unknown> | undefined;
  try {
    outs = await readOutputs(ws, stackName, { secrets: false });
  } catch (err) {
    throw new UnreadableStackError(unreadable(stackName, `stack ${stackName}`, err));
  }
  return outs ? { stackName, id, record: outs.lease as LeaseRecord | undefined } : undefined;
}

/** Does the stack exist? (A look at the backend where awslease reads it, else one engine run.) */
export async function stackExists(ws: Workspace, backend: string, stackName: string): Promise<boolean> {
  const store = await checkpointStore(backend);
  if (store) {
    for (const file of [`${stackName}.json`, `${stackName}.json.gz`]) if (await store.exists(file)) return true;
    return false;
  }
  return (await readOutputs(ws, stackName, { secrets: false })) !== undefined;
}

/** A lease stack whose state cannot be read: an engine/backend error (exit 2). */
export class UnreadableStackError extends Error {
  constructor(readonly unreadable: UnreadableStack) {
    super(`the state of lease stack ${unreadable.stackName} cannot be read (${unreadable.error})`);
    this.name = "UnreadableStackError";
  }
}
