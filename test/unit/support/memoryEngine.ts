// An in-memory Engine and LeaseStore (service/ports.ts) for fast tests of the lease
// service: stacks are map entries, an "up" of a lease stack is the provider's create
// (or update) as a fake lease, and awslease's own files live in a temp directory. AWS
// is whatever the test's `aws` hands out (FakeIam behind aws-sdk-client-mock).
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { randomBytes } from "node:crypto";
import type { IssuedLease, MountSettings } from "../../../provider/types";
import { validateEngineConfig, validateLease, validateRole, resolveTtl } from "../../../provider/validation";
import { EngineError, StackLockedError } from "../../../provider/errors";
import { controlStackName, leaseIdFor, leaseStackName, parseControlStackName, parseLeaseStackName } from "../../../provider/names";
import { rulesOf } from "../../../provider/credentialTypes";
import type {
  DesiredMount,
  Engine,
  LeaseProgram,
  LeaseRecord,
  LeaseStack,
  LeaseStore,
  MountState,
  StaticRoleProgram,
  StaticRoleRecord,
} from "../../../service/ports";
import { validateStaticRole } from "../../../provider/validation";
import { staticRoleDue } from "../../../provider/staticRole";
import { leaseRecord } from "../../../service/leaseRecord";
import { serviceContext, type ServiceContext } from "../../../service/context";
import { directoryStore } from "../../../service/store/backendStore";
import { withAwsClients } from "../../../provider/aws/clients";

interface MemoryStack {
  mount?: MountState;
  /** The lease resource the stack holds (gone after destroy). */
  lease?: IssuedLease;
  record?: LeaseRecord;
  credentials?: { accessKey: string; secretKey: string; sessionToken?: string; region: string };
  staticRole?: StaticRoleRecord;
  rotation?: string;
  lastUpdate: string;
  locked?: boolean;
}

type Operation = keyof Engine;

export class MemoryEngine implements Engine, LeaseStore {
  readonly stacks = new Map<string, MemoryStack>();
  /** Operations that fail (every time) with this message. */
  readonly failing = new Map<Operation, string>();
  /** Every operation run, as "<operation> <stack>". */
  readonly runs: string[] = [];
  /** Lease ids whose resource a destroy deleted (the provider's delete). */
  readonly destroyed: string[] = [];
  /** How long an "up" of a lease stack takes (real milliseconds). */
  upDelayMs = 0;
  /** Called when the provider would create a lease's AWS identity (e.g. a FakeIam user). */
  onCreate?: (lease: IssuedLease, program: LeaseProgram) => void;
  private readonly filesRoot = mkdtempSync(join(tmpdir(), "awslease-memory-"));

  constructor(readonly now: () => number) {}

  private run(op: Operation, stackName: string): void {
    this.runs.push(`${op} ${stackName}`);
    const failure = this.failing.get(op);
    if (failure) throw new EngineError(failure);
    if (this.stacks.get(stackName)?.locked) throw new StackLockedError(stackName, [], "retry");
  }

  private stamp(): string {
    return new Date(this.now()).toISOString();
  }

  async readMount(mount: string): Promise<MountState | undefined> {
    return this.stacks.get(controlStackName(mount))?.mount;
  }

  async applyMount(mount: string, desired: DesiredMount, opts: { create: boolean }): Promise<MountState> {
    const stackName = controlStackName(mount);
    this.run("applyMount", stackName);
    const existing = this.stacks.get(stackName);
    if (opts.create === !!existing) throw new EngineError(opts.create ? `stack ${stackName} already exists` : `no stack named ${stackName}`);
    const roles = Object.fromEntries(Object.entries(desired.roles).map(([name, input]) => [name, { input, settings: validateRole(name, input) }]));
    const state: MountState = { roles };
    if (desired.config) {
      const settings: MountSettings = {
        ...validateEngineConfig(desired.config, { mount, env: {} }),
        tableId: existing?.mount?.config?.settings.tableId ?? randomBytes(8).toString("hex"),
      };
      state.config = {
        input: desired.config,
        settings,
        accountId: "123456789012",
        callerArn: "arn:aws:iam::123456789012:user/root",
        rotateRootTrigger: desired.rotateRootTrigger,
      };
    }
    this.stacks.set(stackName, { mount: state, lastUpdate: this.stamp() });
    return state;
  }

  async initStack(stackName: string): Promise<void> {
    this.run("initStack", stackName);
    if (this.stacks.has(stackName)) throw new EngineError(`stack ${stackName} already exists`);
    this.stacks.set(stackName, { lastUpdate: this.stamp() });
  }

  /** The provider's create (a new lease) or update (renewal): a lease that expires after its TTL. */
  async upLease(stackName: string, program: LeaseProgram): Promise<IssuedLease> {
    this.run("upLease", stackName);
    if (this.upDelayMs > 0) await new Promise((r) => setTimeout(r, this.upDelayMs));
    const stack = this.stacks.get(stackName);
    if (!stack) throw new EngineError(`no stack named ${stackName}`);
    const request = validateLease(program.request);
    const ttl = resolveTtl(program.mount, program.role, request.ttl).seconds || program.mount.leaseSeconds;
    const issuedAt = stack.lease?.issuedAt ?? this.stamp();
    const lease: IssuedLease = {
      leaseId: leaseIdFor(program.mount.mount, program.role, program.key),
      credentialType: program.role.credentialType,
      accessKey: stack.lease?.accessKey ?? `AKIA${randomBytes(8).toString("hex").toUpperCase()}`,
      secretKey: stack.lease?.secretKey ?? randomBytes(20).toString("base64"),
      username: `awslease-${program.role.name}-${program.key.slice(0, 8)}`,
      issuedAt,
      expiresAt: new Date(this.now() + ttl * 1000).toISOString(),
      leaseDuration: ttl,
      renewable: rulesOf(program.role.credentialType).renewable,
      warnings: [],
    };
    if (!stack.lease) this.onCreate?.(lease, program);
    stack.lease = lease;
    stack.record = leaseRecord(lease, program);
    stack.credentials = program.reuseKey ? { accessKey: lease.accessKey, secretKey: lease.secretKey, region: program.mount.region } : undefined;
    stack.lastUpdate = this.stamp();
    return lease;
  }

  async destroyStack(stackName: string, opts: { keepStack?: boolean }): Promise<{ warnings: string[] }> {
    this.run("destroyStack", stackName);
    const stack = this.stacks.get(stackName);
    if (!stack) throw new EngineError(`no stack named ${stackName}`);
    if (stack.lease) this.destroyed.push(stack.lease.leaseId);
    stack.lease = undefined;
    stack.record = undefined;
    stack.credentials = undefined;
    if (!opts.keepStack) this.stacks.delete(stackName);
    return { warnings: [] };
  }

  async removeStack(stackName: string, opts: { force?: boolean }): Promise<void> {
    this.run("removeStack", stackName);
    const stack = this.stacks.get(stackName);
    if (stack?.lease && !opts.force) throw new EngineError(`stack ${stackName} still has resources`);
    this.stacks.delete(stackName);
  }

  async readTable(mount: string) {
    const names = [...this.stacks.keys()].filter((name) => parseLeaseStackName(name)?.mount === mount);
    const stacks = names.map((name) => this.leaseStack(name)).filter((s): s is LeaseStack => !!s);
    return { stacks, unreadable: [] };
  }

  async readStack(mount: string, key: string) {
    return this.leaseStack(leaseStackName(mount, key));
  }

  private leaseStack(stackName: string): LeaseStack | undefined {
    const stack = this.stacks.get(stackName);
    const parsed = parseLeaseStackName(stackName);
    if (!stack || !parsed) return undefined;
    return { stackName, key: parsed.key, lastUpdate: stack.lastUpdate, record: stack.record, locked: stack.locked };
  }

  /** The provider's static role create or update: a new key when created, asked, or due; a retired key dropped when due. */
  async upStaticRole(stackName: string, program: StaticRoleProgram): Promise<StaticRoleRecord> {
    this.run("upStaticRole", stackName);
    const stack = this.stacks.get(stackName);
    if (!stack) throw new EngineError(`no stack named ${stackName}`);
    const settings = validateStaticRole(program.name, program.input);
    const prev = stack.staticRole;
    const key = () => `AKIA${randomBytes(8).toString("hex").toUpperCase()}`;
    const due = prev ? staticRoleDue(prev, this.now()) : "rotate";
    const rotate = !prev || program.rotation !== stack.rotation || due === "rotate";
    const base = prev ?? {
      mount: program.mount.mount,
      name: settings.name,
      username: settings.username,
      userId: `AIDA-${settings.username}`,
      accessKey: "",
      rotatedAt: this.stamp(),
    };
    const next: StaticRoleRecord = rotate
      ? { ...base, rotationPeriod: settings.rotationPeriod, accessKey: key(), retiredKey: prev?.accessKey, rotatedAt: this.stamp(), expiration: "" }
      : { ...base, rotationPeriod: settings.rotationPeriod, retiredKey: due === "retire" ? undefined : prev!.retiredKey, expiration: "" };
    if (!next.retiredKey) delete next.retiredKey;
    if (program.rotation) next.rotation = program.rotation;
    else delete next.rotation;
    next.expiration = new Date(Date.parse(next.rotatedAt) + settings.rotationPeriod * 1000).toISOString();
    stack.staticRole = next;
    stack.rotation = program.rotation;
    stack.lastUpdate = this.stamp();
    return next;
  }

  async listStacks(prefix: string) {
    return [...this.stacks.keys()].filter((k) => k.startsWith(prefix)).sort();
  }

  async stackExists(stackName: string) {
    return this.stacks.has(stackName);
  }

  async listMounts() {
    return [...this.stacks.keys()]
      .map(parseControlStackName)
      .filter((m): m is string => !!m)
      .sort();
  }

  async readSecretOutput(stackName: string, name: string) {
    const stack = this.stacks.get(stackName);
    if (name === "staticRole") return stack?.staticRole;
    if (name === "credentials" && stack?.staticRole)
      return { accessKey: stack.staticRole.accessKey, secretKey: `secret-of-${stack.staticRole.accessKey}`, expiration: stack.staticRole.expiration };
    return name === "credentials" ? stack?.credentials : undefined;
  }

  async ready() {}

  async files(area: string, mount: string) {
    return { store: directoryStore(join(this.filesRoot, area)), dir: mount };
  }
}

/** A service context on a MemoryEngine, with a clock the test moves (`clock.ms`), and AWS through FakeIam. */
export function memoryContext(mount = "aws") {
  const clock = { ms: Date.parse("2026-12-01T00:00:00Z") };
  const engine = new MemoryEngine(() => clock.ms);
  const ctx: ServiceContext = {
    ...serviceContext({ home: engine["filesRoot"], backend: "memory://", mount, quiet: true }, {}),
    engine,
    store: engine,
    aws: withAwsClients,
    now: () => clock.ms,
  };
  return { ctx, engine, clock };
}
