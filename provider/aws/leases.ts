// The lease operations the resources and the CLI call: issue, revoke, renew and
// check, dispatched by credential type to the IAM-user or STS code.
import { formatDuration, isoSeconds, wholeSeconds } from "../duration";
import type { CredentialType, MountSettings, IssuedLease, LeaseRequest, RoleSettings, SessionRevocation } from "../types";
import { renderUsername } from "../usernameTemplate";
import { checkIssueRequest, leaseSecondsOrDefault, resolveTtl } from "../validation";
import { ValidationError } from "../errors";
import { checkIamUser, issueIamUser, renewIamUser, revokeIamUser } from "./iamUser";
import { issueAssumedRole, issueFederationToken, issueSessionToken } from "./sts";
import type { AwsClients } from "./clients";
import { leaseIdFor, randomLeaseKey } from "../names";
import { revokeLeavesValid, rulesOf } from "../credentialTypes";
import { denySession, LONGEST_SESSION_SECONDS } from "./sessionDeny";

interface IssueContext {
  leaseId: string;
  ttlSeconds: number;
  /** assumed_role: the role ARN to assume, resolved against the role's roleArns. */
  roleArn?: string;
  now: Date;
}

type Issuer = (clients: AwsClients, engine: MountSettings, role: RoleSettings, request: LeaseRequest, ctx: IssueContext) => Promise<IssuedLease>;

/** A name from the mount's username template: `IAM` names are cut to 64 characters, `STS` ones to 32. */
function templateName(engine: MountSettings, role: RoleSettings, request: LeaseRequest, now: Date, type: "IAM" | "STS"): string {
  return renderUsername(engine.usernameTemplate, { roleName: role.name, mount: engine.mount, displayName: request.displayName, now, type });
}

/** How each credential type is issued; the rules it lives by are in ../credentialTypes.ts. */
const ISSUERS: Record<CredentialType, Issuer> = {
  iam_user: (clients, engine, role, request, ctx) =>
    issueIamUser(clients, engine, role, request, {
      ...ctx,
      username: templateName(engine, role, request, ctx.now, "IAM"),
      ttlSeconds: leaseSecondsOrDefault(ctx.ttlSeconds),
    }),
  // Vault renders generated AssumeRole session names with the IAM type (limit 64).
  assumed_role: (clients, engine, role, request, ctx) =>
    issueAssumedRole(clients, role, request, { ...ctx, sessionName: request.roleSessionName ?? templateName(engine, role, request, ctx.now, "IAM") }),
  // The federated user's name (limit 32); roleSessionName is for assumed_role only.
  federation_token: (clients, engine, role, request, ctx) =>
    issueFederationToken(clients, role, request, { ...ctx, sessionName: templateName(engine, role, request, ctx.now, "STS") }),
  // GetSessionToken takes no name.
  session_token: (clients, _engine, role, request, ctx) => issueSessionToken(clients, role, request, { ...ctx, sessionName: "" }),
};

/**
 * Issues a lease of the role's credential type. `opts.leaseKey` replaces the random
 * key (the full lease id is still `<mount>/<creds|sts>/<role>/<leaseKey>`).
 */
export async function issueLease(
  clients: AwsClients,
  engine: MountSettings,
  role: RoleSettings,
  request: LeaseRequest,
  opts: { now?: Date; leaseKey?: string } = {},
): Promise<IssuedLease> {
  const { roleArn } = checkIssueRequest(role, request);
  const ttl = resolveTtl(engine, role, request.ttl);
  const now = opts.now ?? new Date();
  const leaseId = leaseIdFor(engine.mount, role, opts.leaseKey ?? randomLeaseKey());
  rulesOf(role.credentialType); // an unknown type fails here, naming it
  const issued = await ISSUERS[role.credentialType](clients, engine, role, request, { leaseId, ttlSeconds: ttl.seconds, roleArn, now });
  return { ...issued, warnings: [...ttl.warnings, ...issued.warnings] };
}

export interface LeaseRef {
  credentialType: CredentialType;
  username?: string;
  sessionRevocation?: SessionRevocation;
}

function iamUsername(lease: LeaseRef): string {
  if (!lease.username) throw ValidationError.of("username", "an iam_user lease must name its IAM user");
  return lease.username;
}

/**
 * Revokes a lease. iam_user: deletes the user and all it holds (a user already gone
 * is success). assumed_role, federation_token: denies the session on its role or user
 * (sessionDeny.ts), unless it has expired already or the mount opts out. Otherwise
 * nothing can be done in AWS, and the message says why and when the credentials expire.
 */
export async function revokeLease(
  clients: Pick<AwsClients, "iam">,
  lease: LeaseRef & { expiresAt?: string },
  mount: Pick<MountSettings, "stsRevocation"> = {},
  now: () => Date = () => new Date(),
): Promise<{ revoked: boolean; message: string; warning?: string }> {
  const how = rulesOf(lease.credentialType).revoke;
  if (how !== "delete-user") {
    const gap = revokeLeavesValid(lease, mount);
    const expiresAt = lease.expiresAt ? new Date(lease.expiresAt) : undefined;
    if (gap)
      return { revoked: false, message: `the credentials stay valid until they expire at ${lease.expiresAt ?? "the end of their AWS lifetime"} (${gap})` };
    if (expiresAt && expiresAt.getTime() <= now().getTime()) return { revoked: true, message: `the session expired at ${lease.expiresAt}` };
    const target = lease.sessionRevocation!;
    // Unknown expiry: keep the Deny as long as any session on that principal can last.
    const until = expiresAt ?? new Date(now().getTime() + LONGEST_SESSION_SECONDS[target.principal] * 1000);
    const { how: denied } = await denySession(clients, target, until, now);
    return denied === "denied"
      ? { revoked: true, message: `denied session ${target.sessionId} on ${target.principal} ${target.name}` }
      : {
          revoked: true,
          message: `denied session ${target.sessionId} on ${target.principal} ${target.name}`,
          warning: `every session of ${target.principal} ${target.name} issued before now is denied (AWS's "revoke older sessions"): its inline policies reached IAM's size limit`,
        };
  }
  const username = iamUsername(lease);
  const { existed } = await revokeIamUser(clients, username);
  return existed
    ? { revoked: true, message: `deleted IAM user ${username} and its access keys` }
    : { revoked: true, message: `IAM user ${username} was already gone` };
}

/**
 * Renews an iam_user lease (`vault lease renew -increment`): the new expiry is now +
 * increment (the engine's lease when 0), capped so the lease lives at most leaseMax
 * from issuedAt. STS leases are not renewable; an expired lease cannot be revived.
 */
export async function renewLease(
  clients: Pick<AwsClients, "iam">,
  engine: MountSettings,
  lease: LeaseRef & { issuedAt: string; expiresAt: string },
  incrementSeconds: number,
  now: Date = new Date(),
): Promise<{ expiresAt: string; leaseDuration: number; warnings: string[] }> {
  if (!rulesOf(lease.credentialType).renewable) {
    throw ValidationError.of("credentialType", `lease is not renewable: ${lease.credentialType} credentials end at their AWS expiry`);
  }
  if (!Number.isSafeInteger(incrementSeconds) || incrementSeconds < 0) {
    throw ValidationError.of("increment", `must be a whole number of seconds >= 0, got ${incrementSeconds}`);
  }
  const username = iamUsername(lease);
  const current = wholeSeconds(now);
  const oldExpiry = Date.parse(lease.expiresAt);
  if (!(oldExpiry > current.getTime())) {
    throw ValidationError.of("expiresAt", `lease expired at ${lease.expiresAt} and cannot be renewed; issue a new one`);
  }
  const warnings: string[] = [];
  const increment = incrementSeconds > 0 ? incrementSeconds : leaseSecondsOrDefault(engine.leaseSeconds);
  let expiresAt = new Date(current.getTime() + increment * 1000);
  if (engine.leaseMaxSeconds > 0) {
    const issuedAt = Date.parse(lease.issuedAt);
    if (Number.isNaN(issuedAt)) throw ValidationError.of("issuedAt", `not a timestamp: ${JSON.stringify(lease.issuedAt)}`);
    const maxExpiry = new Date(issuedAt + engine.leaseMaxSeconds * 1000);
    if (expiresAt > maxExpiry) {
      if (maxExpiry <= current) {
        throw ValidationError.of(
          "increment",
          `lease reached the engine's leaseMax ${formatDuration(engine.leaseMaxSeconds)} at ${isoSeconds(maxExpiry)}; issue a new one`,
        );
      }
      warnings.push(
        `renewal of ${formatDuration(increment)} capped at the engine's leaseMax ${formatDuration(engine.leaseMaxSeconds)} ` +
          `from issue: the lease now expires at ${isoSeconds(maxExpiry)}`,
      );
      expiresAt = maxExpiry;
    }
  }
  await renewIamUser(clients, username, expiresAt, lease.expiresAt);
  return {
    expiresAt: isoSeconds(expiresAt),
    leaseDuration: Math.round((expiresAt.getTime() - current.getTime()) / 1000),
    warnings,
  };
}

/**
 * "gone" when the IAM user or its key no longer exists, "expired" past expiresAt,
 * else "ok". An iam_user lease is looked up even when expired: an expired lease whose
 * user is gone has nothing left to revoke. STS credentials cannot be looked up.
 */
export async function checkLease(
  clients: Pick<AwsClients, "iam">,
  lease: LeaseRef & { accessKey: string; expiresAt: string },
  now: Date = new Date(),
): Promise<"ok" | "gone" | "expired"> {
  // An iam_user lease has something in AWS (its IAM user) that can be gone.
  if (rulesOf(lease.credentialType).revoke === "delete-user") {
    const status = await checkIamUser(clients, iamUsername(lease), lease.accessKey);
    if (status === "gone") return "gone";
  }
  return Date.parse(lease.expiresAt) <= now.getTime() ? "expired" : "ok";
}
