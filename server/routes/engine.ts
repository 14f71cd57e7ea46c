// Vault's AWS secrets engine paths under a mount: config/root, config/lease,
// config/rotate-root, roles, creds and sts, static-roles and static-creds.
import { roleFromVaultJson, mountConfigFromVaultJson, staticRoleFromVaultJson, type LeaseInput } from "../../provider/validation";
import { deleteStaticRole, findStaticRole, listStaticRoles, staticCreds, writeStaticRole } from "../../service/staticRoles";
import { staticRoleStackName } from "../../provider/names";
import { vaultRoleView, vaultStaticCredsData, vaultStaticRoleView } from "../../provider/roleFields";
import { configView, deleteRole, readMount, requireMount, rotateRoot, writeConfig, writeRole } from "../../service/mounts";
import { issue } from "../../service/leases";
import { DEFAULT_REFRESH_WINDOW_SECONDS, issueOrReuse } from "../../service/reuse";
import { parseDuration } from "../../provider/duration";
import { vaultSecretData } from "../../service/leaseRecord";
import { HttpError } from "../vault";
import { stringField, type Route, type RouteRequest } from "../routes";

const MOUNT = "(?<mount>[a-zA-Z0-9_-]{1,64})";
const NAME = "(?<name>[^/]+)";

async function roleExists(r: RouteRequest): Promise<boolean> {
  return !!(await readMount(r.ctx))?.roles[r.params.name];
}

/** One stack check, not a listing of the mount's static roles. */
function staticRoleExists(r: RouteRequest): Promise<boolean> {
  return r.ctx.store.stackExists(staticRoleStackName(r.ctx.mount, r.params.name));
}

/** Vault answers a read of something that is not there with a bare 404. */
const missing = () => new HttpError(404, "");

/**
 * Vault's creds/sts answer, plus what the awslease CLI needs of it (credential_type and
 * region, neither secret). With `reuse_session` (awslease's addition, for the CLI's
 * credential-process through a server), a live lease issued before for the same token
 * and session is handed out again while it has more than `refresh_window` left.
 */
async function issueCredentials(r: RouteRequest) {
  const input: LeaseInput = {
    ttl: stringField(r.body, "ttl"),
    roleArn: stringField(r.body, "role_arn"),
    roleSessionName: stringField(r.body, "role_session_name"),
    mfaCode: stringField(r.body, "mfa_code"),
    displayName: r.token.displayName,
  };
  const session = r.body.reuse_session === undefined ? undefined : (stringField(r.body, "reuse_session") ?? "");
  const window = stringField(r.body, "refresh_window");
  const { lease, region, reused, warnings } =
    session === undefined
      ? { ...(await issue(r.ctx, r.params.name, input, { by: "server" })), reused: undefined, warnings: [] }
      : await issueOrReuse(r.ctx, r.params.name, input, {
          // Leases are reused by the token that issued them, never another's.
          session: `${r.token.accessor}.${session}`,
          refreshWindowSeconds: window === undefined ? DEFAULT_REFRESH_WINDOW_SECONDS : parseDuration(window, "refresh_window"),
          by: "server",
        });
  return {
    leaseId: lease.leaseId,
    leaseDuration: lease.leaseDuration,
    renewable: lease.renewable,
    data: { ...vaultSecretData(lease), credential_type: lease.credentialType, region, ...(reused === undefined ? {} : { reused }) },
    warnings: [...lease.warnings, ...warnings],
  };
}

export const engineRoutes: Route[] = [
  // config/root and config/lease: the same handlers over their halves of CONFIG_FIELDS.
  ...(["root", "lease"] as const).map((endpoint): Route => ({
    pattern: new RegExp(`^${MOUNT}/config/${endpoint}$`),
    handlers: {
      read: async (r) => ({ data: configView((await requireMount(r.ctx)).config, endpoint) }),
      update: async (r) => {
        await writeConfig(r.ctx, mountConfigFromVaultJson(r.body, endpoint));
        return { status: 204 };
      },
    },
  })),
  {
    pattern: new RegExp(`^${MOUNT}/config/rotate-root$`),
    handlers: {
      update: async (r) => {
        const { config } = await rotateRoot(r.ctx);
        return { data: { access_key: config.settings.accessKey } };
      },
    },
  },
  {
    pattern: new RegExp(`^${MOUNT}/roles/?$`),
    handlers: {
      list: async (r) => {
        const keys = Object.keys((await readMount(r.ctx))?.roles ?? {}).sort();
        if (keys.length === 0) throw missing();
        return { data: { keys } };
      },
    },
  },
  {
    pattern: new RegExp(`^${MOUNT}/roles/${NAME}$`),
    exists: roleExists,
    handlers: {
      read: async (r) => {
        const role = (await readMount(r.ctx))?.roles[r.params.name];
        if (!role) throw missing();
        return { data: vaultRoleView(role.settings) };
      },
      update: async (r) => {
        await writeRole(r.ctx, r.params.name, roleFromVaultJson(r.body));
        return { status: 204 };
      },
      delete: async (r) => {
        if (await roleExists(r)) await deleteRole(r.ctx, r.params.name);
        return { status: 204 };
      },
    },
  },
  {
    pattern: new RegExp(`^${MOUNT}/static-roles/?$`),
    handlers: {
      list: async (r) => {
        const keys = await listStaticRoles(r.ctx);
        if (keys.length === 0) throw missing();
        return { data: { keys } };
      },
    },
  },
  {
    pattern: new RegExp(`^${MOUNT}/static-roles/${NAME}$`),
    exists: staticRoleExists,
    handlers: {
      read: async (r) => {
        const record = await findStaticRole(r.ctx, r.params.name);
        if (!record) throw missing();
        return { data: vaultStaticRoleView(record) };
      },
      update: async (r) => {
        await writeStaticRole(r.ctx, r.params.name, staticRoleFromVaultJson(r.body));
        return { status: 204 };
      },
      delete: async (r) => {
        if (await staticRoleExists(r)) await deleteStaticRole(r.ctx, r.params.name);
        return { status: 204 };
      },
    },
  },
  {
    // Vault: static credentials have no lease.
    pattern: new RegExp(`^${MOUNT}/static-creds/${NAME}$`),
    handlers: {
      read: async (r) => {
        if (!(await staticRoleExists(r))) throw missing();
        return { data: vaultStaticCredsData(await staticCreds(r.ctx, r.params.name)) };
      },
    },
  },
  {
    // GET with query parameters and POST with a body, for every credential type (as Vault).
    pattern: new RegExp(`^${MOUNT}/(?:creds|sts)/${NAME}$`),
    handlers: { read: issueCredentials, update: issueCredentials },
  },
];
