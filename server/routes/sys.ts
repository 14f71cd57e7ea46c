// Vault's sys/ paths that concern this engine: health, mounts, leases, ACL policies
// and the caller's capabilities.
import { ValidationError } from "../../provider/errors";
import { awsleaseVersion } from "../../provider/version";
import { mountNameProblem, parseLeaseId } from "../../provider/names";
import { disableMount, enableMount, listMounts, readMount } from "../../service/mounts";
import { list, lookup, renew, revoke, revokeByPrefix } from "../../service/leases";
import { deletePolicy, listPolicies, readPolicy, writePolicy, aclOf } from "../../service/auth/policies";
import { HttpError } from "../vault";
import { listField, requiredField, stringField, type Route, type RouteRequest } from "../routes";

const MOUNT = "(?<mount>[a-zA-Z0-9_-]{1,64})";
/** First path segments that are Vault's own, never a mount. */
const RESERVED_MOUNTS = new Set(["sys", "auth", "identity", "cubbyhole", "v1"]);

/** sys/health's answer, whose status a load balancer reads: 200 serving, 503 shutting down. */
export function healthAnswer(now: number, draining: boolean) {
  return {
    raw: {
      status: draining ? 503 : 200,
      body: {
        initialized: true,
        sealed: false,
        standby: false,
        performance_standby: false,
        replication_performance_mode: "disabled",
        replication_dr_mode: "disabled",
        server_time_utc: Math.floor(now / 1000),
        version: `awslease-${awsleaseVersion()}`,
        cluster_name: "awslease",
        ...(draining ? { draining: true } : {}),
      },
    },
  };
}

/** A lease's mount: the service reads and revokes the lease through it. */
function leaseScope(r: RouteRequest, leaseId: string) {
  return { ...r.ctx, mount: parseLeaseId(leaseId).mount };
}

function leaseIdOf(r: RouteRequest): string {
  return r.params.leaseId || requiredField(r.body, "lease_id");
}

async function lookupLease(r: RouteRequest) {
  const leaseId = leaseIdOf(r);
  const rec = await lookup(leaseScope(r, leaseId), leaseId);
  const ttl = Math.max(0, Math.floor((Date.parse(rec.expiresAt) - r.ctx.now()) / 1000));
  // credential_type and irrevocable are awslease's additions (not secret; the CLI and UI show them).
  return {
    data: {
      id: rec.leaseId,
      issue_time: rec.issuedAt,
      expire_time: rec.expiresAt,
      last_renewal: null,
      renewable: rec.renewable,
      ttl,
      credential_type: rec.credentialType,
      ...(rec.irrevocable ? { irrevocable: rec.irrevocable } : {}),
    },
  };
}

async function renewLease(r: RouteRequest) {
  const leaseId = leaseIdOf(r);
  const renewed = await renew(leaseScope(r, leaseId), leaseId, stringField(r.body, "increment"));
  return { leaseId: renewed.leaseId, renewable: renewed.renewable, leaseDuration: renewed.leaseDuration, warnings: renewed.warnings };
}

async function revokeLease(r: RouteRequest) {
  const leaseId = leaseIdOf(r);
  // Vault's revoke of an unknown lease id succeeds (it is gone either way).
  const { warnings } = await revoke(leaseScope(r, leaseId), leaseId, { ignoreMissing: true, by: "server" });
  // Vault answers 204; a warning (STS credentials stay valid until their AWS expiry) needs a body.
  return warnings.length > 0 ? { warnings } : { status: 204 as const };
}

async function revokePrefix(r: RouteRequest) {
  const prefix = r.params.prefix;
  const mount = prefix.split("/")[0];
  const { results, unreadable } = await revokeByPrefix({ ...r.ctx, mount }, prefix, { by: "server" });
  const failed = results.filter((x) => x.outcome === "failed");
  if (failed.length > 0 || unreadable.length > 0) {
    throw new HttpError(
      500,
      `${failed.length + unreadable.length} of ${results.length + unreadable.length} leases could not be revoked (they stay listed): ${failed[0]?.error ?? unreadable[0]?.error}`,
    );
  }
  return { status: 204 as const };
}

/** LIST sys/leases/lookup/<prefix>: the next part of the lease ids under the prefix, "x/" for a deeper level (as Vault). */
async function listLeasePrefix(r: RouteRequest) {
  const prefix = r.params.prefix.endsWith("/") ? r.params.prefix : `${r.params.prefix}/`;
  const mount = prefix.split("/")[0];
  // An unknown mount (list refuses it) has no leases: Vault's bare 404, as for an empty list.
  if (mountNameProblem(mount)) throw new HttpError(404, "");
  const records = await list({ ...r.ctx, mount }, { prefix }).then(
    (l) => l.records,
    (err) => {
      if (err instanceof ValidationError) throw new HttpError(404, "");
      throw err;
    },
  );
  const keys = [
    ...new Set(records.map((rec) => rec.leaseId.slice(prefix.length)).map((rest) => (rest.includes("/") ? `${rest.split("/")[0]}/` : rest))),
  ].sort();
  if (keys.length === 0) throw new HttpError(404, "");
  return { data: { keys } };
}

/** Vault's sys/mounts shape: one entry per mount, keyed "<path>/". */
async function mountTable(r: RouteRequest) {
  const table: Record<string, unknown> = {};
  for (const mount of await listMounts(r.ctx)) {
    table[`${mount}/`] = {
      type: "aws",
      description: "",
      accessor: `aws_${mount}`,
      config: { default_lease_ttl: 0, max_lease_ttl: 0 },
      local: false,
      seal_wrap: false,
      options: null,
    };
  }
  return table;
}

function checkMountPath(path: string): string {
  const mount = path.replace(/\/$/, "");
  if (RESERVED_MOUNTS.has(mount)) throw new ValidationError([{ field: "path", reason: `cannot mount at "${mount}/": reserved by Vault` }]);
  return mount;
}

async function readAclPolicy(r: RouteRequest) {
  const text = await readPolicy(r.ctx, r.params.name);
  if (text === undefined) throw new HttpError(404, "");
  return { data: { name: r.params.name.toLowerCase(), policy: text, rules: text } };
}

async function writeAclPolicy(r: RouteRequest) {
  // sys/policies/acl takes `policy`; the older sys/policy also `rules`.
  await writePolicy(r.ctx, r.params.name, stringField(r.body, "policy") ?? requiredField(r.body, "rules"));
  return { status: 204 as const };
}

async function deleteAclPolicy(r: RouteRequest) {
  await deletePolicy(r.ctx, r.params.name);
  return { status: 204 as const };
}

async function policyExists(r: RouteRequest): Promise<boolean> {
  return (await readPolicy(r.ctx, r.params.name).catch(() => undefined)) !== undefined;
}

export const sysRoutes: Route[] = [
  {
    pattern: /^sys\/mounts\/?$/,
    handlers: {
      read: async (r) => {
        const table = await mountTable(r);
        return { raw: { status: 200, body: { ...table, data: table } } };
      },
    },
  },
  {
    pattern: new RegExp(`^sys/mounts/${MOUNT}/?$`),
    sudo: true,
    handlers: {
      update: async (r) => {
        const mount = checkMountPath(r.params.mount);
        const type = requiredField(r.body, "type");
        if (type !== "aws") throw new ValidationError([{ field: "type", reason: `only "aws" mounts are served here, not "${type}"` }]);
        await enableMount({ ...r.ctx, mount });
        return { status: 204 };
      },
      delete: async (r) => {
        const mount = checkMountPath(r.params.mount);
        // Vault's disable of a path with no mount succeeds.
        if (await readMount({ ...r.ctx, mount })) await disableMount({ ...r.ctx, mount });
        return { status: 204 };
      },
    },
  },
  { pattern: /^sys\/leases\/lookup$/, handlers: { update: lookupLease } },
  { pattern: /^sys\/leases\/lookup\/(?<prefix>.+)$/, sudo: true, handlers: { list: listLeasePrefix } },
  { pattern: /^sys\/(?:leases\/)?renew(?:\/(?<leaseId>.+))?$/, handlers: { update: renewLease } },
  { pattern: /^sys\/(?:leases\/)?revoke(?:\/(?<leaseId>.+))?$/, handlers: { update: revokeLease } },
  { pattern: /^sys\/(?:leases\/)?revoke-prefix\/(?<prefix>.+)$/, sudo: true, handlers: { update: revokePrefix } },
  {
    pattern: /^sys\/policies\/acl\/?$/,
    handlers: { list: async (r) => ({ data: { keys: await listPolicies(r.ctx) } }) },
  },
  {
    pattern: /^sys\/policies\/acl\/(?<name>[^/]+)$/,
    exists: policyExists,
    handlers: { read: readAclPolicy, update: writeAclPolicy, delete: deleteAclPolicy },
  },
  {
    // The older sys/policy API (node-vault's policies/addPolicy/getPolicy/removePolicy).
    pattern: /^sys\/policy\/?$/,
    handlers: {
      read: async (r) => {
        const keys = await listPolicies(r.ctx);
        return { raw: { status: 200, body: { policies: keys, keys, data: { policies: keys, keys } } } };
      },
    },
  },
  {
    pattern: /^sys\/policy\/(?<name>[^/]+)$/,
    exists: policyExists,
    handlers: { read: readAclPolicy, update: writeAclPolicy, delete: deleteAclPolicy },
  },
  {
    pattern: /^sys\/capabilities-self$/,
    handlers: {
      update: async (r) => {
        const paths = listField(r.body, "paths") ?? listField(r.body, "path") ?? [];
        if (paths.length === 0) throw new ValidationError([{ field: "paths", reason: "is required" }]);
        const acl = await aclOf(r.ctx, r.token.policies);
        const answers = Object.fromEntries(paths.map((p) => [p, acl.vaultCapabilities(p)]));
        // A single path's capabilities also come as `capabilities`, as in Vault.
        return { data: { ...answers, ...(paths.length === 1 ? { capabilities: answers[paths[0]] } : {}) } };
      },
    },
  },
];
