// What the lease service needs from outside it, and the shapes those parts hand back:
// Pulumi's engine (stack runs), the lease-table store (reads of the stacks and
// awslease's own files), AWS clients and a clock. The CLI passes the real ones
// (context.ts serviceContext); unit tests pass in-memory ones (test/unit/support).
import type { AwsClients } from "../provider/aws/clients";
import type { IssuedLease, MountSettings, RoleSettings, SessionRevocation } from "../provider/types";
import type { EngineConfigInput, LeaseInput, RoleInput, StaticRoleInput } from "../provider/validation";
import type { BackendStore } from "./store/backendStore";

/** A mount's root config as its control stack holds it. */
export interface MountConfig {
  input: EngineConfigInput;
  settings: MountSettings;
  accountId: string;
  callerArn: string;
  rotatedAt?: string;
  rotateRootTrigger?: string;
}

/** A mount's control stack. No config: roles written before `config write` (Vault allows it). */
export interface MountState {
  config?: MountConfig;
  roles: Record<string, { input: RoleInput; settings: RoleSettings }>;
}

/** A mount whose root config is written: what issuing and revoking need. */
export type ConfiguredMount = MountState & { config: MountConfig };

/** What a mount's control stack is to hold after an apply. */
export interface DesiredMount {
  /** Undefined until `config write`: the stack then holds roles only. */
  config?: EngineConfigInput;
  rotateRootTrigger?: string;
  roles: Record<string, RoleInput>;
}

/**
 * The one lease record: what a lease stack exports (no secret), and what list,
 * lookup, renew, revoke and sweep read. Views (a `lease list` row, the lease log's
 * facts) are derived from it.
 */
export interface LeaseRecord {
  leaseId: string;
  role: string;
  credentialType: string;
  mount: string;
  issuedAt: string;
  expiresAt: string;
  leaseDuration: number;
  renewable: boolean;
  /** The IAM user (iam_user), or the STS session / federation name. */
  username?: string;
  arn?: string;
  /** assumed_role, federation_token: where a revoke denies the session (provider/aws/sessionDeny.ts). */
  sessionRevocation?: SessionRevocation;
  /** The role as it was at issue: renew keeps the lease what it is. */
  roleSettings: RoleSettings;
  request: LeaseInput;
  /** Set by credential-process / `issue --reuse`: who may be handed this lease again. */
  reuseKey?: string;
  /** Set by the table reader: an engine run holds the lease's stack right now (a renew or revoke). */
  pending?: boolean;
  /** Set by list: the server's expiration manager gave up revoking it (the last error); `lease revoke` may still. */
  irrevocable?: string;
}

/** One lease stack. No record: an issue still running, or one that never finished. */
export interface LeaseStack {
  stackName: string;
  /** The lease key: the lease id's last part. */
  key: string;
  /** When the stack's state was last written. */
  lastUpdate?: string;
  record?: LeaseRecord;
  /** An engine run holds the stack right now (an issue, renew or revoke): known on file and S3 backends. */
  locked?: boolean;
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

/** What the inline program of a lease stack declares: one AwsLease. */
export interface LeaseProgram {
  key: string;
  mount: MountSettings;
  role: RoleSettings;
  request: LeaseInput;
  /** A new value makes the engine renew the lease (update). */
  renewal?: string;
  reuseKey?: string;
}

/** What a static role's stack is made of: one AwsStaticRole. */
export interface StaticRoleProgram {
  mount: MountSettings;
  name: string;
  input: StaticRoleInput;
  /** A new value rotates the key now. */
  rotation?: string;
}

/** A static role as its stack records it: everything but the secret key. */
export interface StaticRoleRecord {
  mount: string;
  name: string;
  username: string;
  /** The IAM user's immutable id when the role was written. */
  userId: string;
  /** Seconds. */
  rotationPeriod: number;
  accessKey: string;
  /** The key the last rotation replaced, until it is deleted. */
  retiredKey?: string;
  rotatedAt: string;
  /** The next rotation. */
  expiration: string;
  keyMissing?: boolean;
  /** The rotation value of the last run: a run with another value rotates. */
  rotation?: string;
}

/** How an engine run treats a stack another run has locked (see pulumi/stackLocks.ts). */
export interface LockPolicy {
  /** Break the lock even if its owner may still be running. */
  breakLock?: boolean;
  /** What the error tells the user to do when the lock is live. */
  retryHint: string;
}

/**
 * Pulumi's engine, one operation per method. Failures are EngineErrors whose message
 * is the engine's most useful line, or StackLockedErrors.
 */
export interface Engine {
  /** A mount's control stack, secrets decrypted; undefined when the mount does not exist. */
  readMount(mount: string): Promise<MountState | undefined>;
  /** `pulumi up` of a mount's control stack (created when `create`). */
  applyMount(mount: string, desired: DesiredMount, opts: { create: boolean; lock: LockPolicy }): Promise<MountState>;
  /** A new, empty stack (written into the backend directly where it can be, else `pulumi stack init`). */
  initStack(stackName: string): Promise<void>;
  /** `pulumi up` of a lease stack; the lease as the provider issued (or renewed) it. */
  upLease(stackName: string, program: LeaseProgram, opts: { lock?: LockPolicy }): Promise<IssuedLease>;
  /** `pulumi up` of a static role's stack: create, change, rotate (when due or asked), or delete its retired key. */
  upStaticRole(stackName: string, program: StaticRoleProgram, opts: { lock?: LockPolicy }): Promise<StaticRoleRecord>;
  /**
   * `pulumi destroy` of a stack, then the stack removed with its history (unless
   * `keepStack`). `mount`: the mount's current root settings (rotated keys) for the
   * provider. `cleanup`: runs even after an interrupt.
   */
  /** Returns the warnings the provider printed (e.g. a revoke that denied every older session of a role). */
  destroyStack(stackName: string, opts: { mount?: MountSettings; keepStack?: boolean; cleanup?: boolean; lock?: LockPolicy }): Promise<{ warnings: string[] }>;
  /** Removes a stack; `force` even if it still holds resources (their AWS side is gone). */
  removeStack(stackName: string, opts: { force?: boolean; lock?: LockPolicy }): Promise<void>;
}

/** The lease table as it is stored, and awslease's own files beside it. */
export interface LeaseStore {
  /** Every lease stack of a mount, in one pass. */
  readTable(mount: string): Promise<LeaseTable>;
  /** One lease stack; undefined when there is none. Throws, naming it, when it cannot be read. */
  readStack(mount: string, key: string): Promise<LeaseStack | undefined>;
  stackExists(stackName: string): Promise<boolean>;
  /** The names of the mounts in the backend (their control stacks), sorted. */
  listMounts(): Promise<string[]>;
  /** Names of the stacks whose names start with prefix. */
  listStacks(prefix: string): Promise<string[]>;
  /** A secret output of a stack, decrypted; undefined when the stack or the output does not exist. */
  readSecretOutput(stackName: string, name: string): Promise<unknown>;
  /** Where awslease keeps its own files of a mount (`area`: the lease log, reuse pointers). */
  files(area: string, mount: string): Promise<{ store: BackendStore; dir: string }>;
  /**
   * Makes sure the backend exists in the engine's layout (the engine writes it at its
   * first run), so that awslease's own files (the server's tokens) go to the backend
   * from the start, not to the local fallback.
   */
  ready(): Promise<void>;
}

/** Runs fn with AWS clients for a mount's settings (provider/aws/clients.ts withAwsClients). */
export type AwsAccess = <T>(mount: MountSettings, fn: (clients: AwsClients) => Promise<T>) => Promise<T>;
