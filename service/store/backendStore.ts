// Direct access to the files of a DIY state backend (a directory for file://, a bucket
// for s3://), for what the engine has no command for: reading every lease stack's
// checkpoint in one pass (leaseTable.ts), seeing which stacks are locked, and the
// lease log (leaseLog.ts). Only backends in the project layout (meta.yaml version 1)
// are read; for others (Pulumi Cloud, azblob, gs, postgres, unknown URL options)
// backendStore returns undefined and callers ask the engine or fall back.
import { existsSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from "node:fs";
import { homedir } from "node:os";
import { dirname, isAbsolute, join } from "node:path";

export interface StoredFile {
  /** The file's key relative to the directory listed. */
  name: string;
  lastUpdate: string;
}

export interface BackendStore {
  /** Where a key is, for messages. */
  describe(key: string): string;
  /** The files directly in a directory (keys relative to the backend root, "/"-separated). */
  list(dir: string): Promise<StoredFile[]>;
  /** Every file under a directory, at any depth; names relative to dir. */
  listAll(dir: string): Promise<StoredFile[]>;
  /** The file's content and last write time, or undefined when it does not exist. */
  read(key: string): Promise<{ content: Buffer; lastUpdate: string } | undefined>;
  exists(key: string): Promise<boolean>;
  /** Writes a new file; fails with code EEXIST if it exists (an atomic claim, also on S3). */
  create(key: string, content: string): Promise<void>;
  /** Writes a file whole, replacing what was there (readers see the old or the new content). */
  put(key: string, content: string): Promise<void>;
  /** Deletes a file; one that does not exist is no error. */
  remove(key: string): Promise<void>;
}

const stores = new Map<string, Promise<BackendStore | undefined>>();

/** The store of a backend URL, or undefined where awslease does not read the backend itself. */
export function backendStore(backend: string): Promise<BackendStore | undefined> {
  let store = stores.get(backend);
  if (!store) {
    store = backend.startsWith("file://") ? Promise.resolve(fileStore(backend)) : backend.startsWith("s3://") ? s3Store(backend) : Promise.resolve(undefined);
    // A failed probe (e.g. the bucket unreachable) is not cached, and neither is "not in
    // the project layout": a new backend gets its layout at the engine's first run.
    store.then(
      (found) => found ?? stores.delete(backend),
      () => stores.delete(backend),
    );
    stores.set(backend, store);
  }
  return store;
}

/**
 * Where awslease keeps its own files of a mount (`area`: the lease log, reuse pointers):
 * `.awslease/<area>/<mount>/` in the backend, or under AWSLEASE_HOME on backends
 * awslease does not write itself (then local to this machine).
 */
export async function awsleaseFiles(backend: string, home: string, area: string, mount: string): Promise<{ store: BackendStore; dir: string }> {
  const store = await backendStore(backend);
  if (store) return { store, dir: `.awslease/${area}/${mount}` };
  return { store: directoryStore(join(home, area)), dir: mount };
}

const PROJECT_LAYOUT = /^version:\s*1\s*$/m;

/** A plain directory as a store (also the local fallback of the lease log). */
export function directoryStore(root: string): BackendStore {
  const walk = (dir: string, base = ""): StoredFile[] =>
    (existsSync(dir) ? readdirSync(dir, { withFileTypes: true }) : []).flatMap((e) => {
      const rel = base ? `${base}/${e.name}` : e.name;
      if (e.isDirectory()) return walk(join(dir, e.name), rel);
      const st = statSync(join(dir, e.name), { throwIfNoEntry: false });
      return st?.isFile() ? [{ name: rel, lastUpdate: st.mtime.toISOString() }] : [];
    });
  return {
    describe: (key) => join(root, key),
    list: async (dir) =>
      (existsSync(join(root, dir)) ? readdirSync(join(root, dir)) : []).flatMap((name) => {
        const st = statSync(join(root, dir, name), { throwIfNoEntry: false });
        return st?.isFile() ? [{ name, lastUpdate: st.mtime.toISOString() }] : [];
      }),
    listAll: async (dir) => walk(join(root, dir)),
    read: async (key) => {
      const path = join(root, key);
      if (!existsSync(path)) return undefined;
      return { content: readFileSync(path), lastUpdate: statSync(path).mtime.toISOString() };
    },
    exists: async (key) => existsSync(join(root, key)),
    create: async (key, content) => {
      const path = join(root, key);
      mkdirSync(dirname(path), { recursive: true, mode: 0o700 });
      writeFileSync(path, content, { flag: "wx", mode: 0o600 });
    },
    put: async (key, content) => {
      const path = join(root, key);
      mkdirSync(dirname(path), { recursive: true, mode: 0o700 });
      const tmp = `${path}.${process.pid}.${Date.now()}.tmp`;
      writeFileSync(tmp, content, { mode: 0o600 });
      renameSync(tmp, path);
    },
    remove: async (key) => rmSync(join(root, key), { force: true }),
  };
}

function fileStore(backend: string): BackendStore | undefined {
  let root = backend.slice("file://".length).split("?")[0];
  if (root === "~" || root.startsWith("~/")) root = join(homedir(), root.slice(1));
  if (!isAbsolute(root)) return undefined;
  const meta = join(root, ".pulumi", "meta.yaml");
  if (!existsSync(meta) || !PROJECT_LAYOUT.test(readFileSync(meta, "utf8"))) return undefined;
  return directoryStore(root);
}

/** The s3:// URL options gocloud's s3blob takes that awslease understands; any other sends reads to the engine. */
const KNOWN_S3_OPTIONS = new Set(["region", "endpoint", "use_path_style", "s3ForcePathStyle", "disableSSL", "disable_https", "request_checksum_calculation"]);

async function s3Store(backend: string): Promise<BackendStore | undefined> {
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
  const { stateBucketClient } = require("../../provider/aws/clients") as typeof import("../../provider/aws/clients");
  const { DeleteObjectCommand, GetObjectCommand, HeadObjectCommand, ListObjectsV2Command, PutObjectCommand } =
    require("@aws-sdk/client-s3") as typeof import("@aws-sdk/client-s3");
  const s3 = stateBucketClient(state);
  const bucket = state.bucket;
  const get = async (key: string) => {
    try {
      const r = await s3.send(new GetObjectCommand({ Bucket: bucket, Key: state.prefix + key }));
      return { content: Buffer.from(await r.Body!.transformToByteArray()), lastUpdate: (r.LastModified ?? new Date()).toISOString() };
    } catch (err) {
      if ((err as { name?: string }).name === "NoSuchKey") return undefined;
      throw err;
    }
  };
  const listUnder = async (dir: string, direct: boolean) => {
    const prefix = `${state.prefix}${dir.replace(/\/?$/, "/")}`;
    const files: StoredFile[] = [];
    let token: string | undefined;
    do {
      const page = await s3.send(new ListObjectsV2Command({ Bucket: bucket, Prefix: prefix, ContinuationToken: token }));
      for (const o of page.Contents ?? []) {
        const name = o.Key!.slice(prefix.length);
        if (!direct || !name.includes("/")) files.push({ name, lastUpdate: (o.LastModified ?? new Date()).toISOString() });
      }
      token = page.IsTruncated ? page.NextContinuationToken : undefined;
    } while (token);
    return files;
  };
  const put = async (key: string, content: string) => {
    await s3.send(new PutObjectCommand({ Bucket: bucket, Key: state.prefix + key, Body: content, ContentType: "application/json" }));
  };
  const meta = await get(".pulumi/meta.yaml").catch(() => undefined);
  if (!meta || !PROJECT_LAYOUT.test(meta.content.toString("utf8"))) return undefined;
  return {
    describe: (key) => `s3://${bucket}/${state.prefix}${key}`,
    list: (dir) => listUnder(dir, true),
    listAll: (dir) => listUnder(dir, false),
    read: get,
    exists: async (key) => {
      try {
        await s3.send(new HeadObjectCommand({ Bucket: bucket, Key: state.prefix + key }));
        return true;
      } catch (err) {
        if ((err as { name?: string }).name === "NotFound" || (err as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode === 404)
          return false;
        throw err;
      }
    },
    put,
    // S3's conditional write (If-None-Match: *) makes a create an atomic claim across runners.
    create: async (key, content) => {
      try {
        await s3.send(new PutObjectCommand({ Bucket: bucket, Key: state.prefix + key, Body: content, ContentType: "application/json", IfNoneMatch: "*" }));
      } catch (err) {
        const status = (err as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode;
        if (status === 412 || status === 409) throw Object.assign(new Error(`${key} exists`), { code: "EEXIST" });
        throw err;
      }
    },
    remove: async (key) => {
      await s3.send(new DeleteObjectCommand({ Bucket: bucket, Key: state.prefix + key }));
    },
  };
}
