// The STS credential types (Vault's assumed_role, federation_token and session_token)
// and the engine's own caller identity. STS leases are not renewable. An assumed_role
// or federation_token lease records its session's aws:userid and the role or user
// behind it, so that revoke can deny that session (sessionDeny.ts).
import { AssumeRoleCommand, GetCallerIdentityCommand, GetFederationTokenCommand, GetSessionTokenCommand, type Credentials } from "@aws-sdk/client-sts";
import { isoSeconds } from "../duration";
import { ValidationError } from "../errors";
import type { CredentialType, IssuedLease, LeaseRequest, RoleSettings, SessionRevocation } from "../types";
import type { AwsClients } from "./clients";
import { AwsCallError, call } from "./errors";
import { sessionPolicy } from "./groupPolicies";
import { iamUserNameOfArn, roleNameOfArn } from "../names";

export interface StsIssueOptions {
  leaseId: string;
  ttlSeconds: number;
  /** RoleSessionName (assumed_role) or Name (federation_token); the lease's username. */
  sessionName: string;
  /** The role to assume (assumed_role only), already resolved against role.roleArns. */
  roleArn?: string;
  now: Date;
}

interface IssuedCredentials {
  AccessKeyId: string;
  SecretAccessKey: string;
  SessionToken: string;
  Expiration: Date;
}

function usableCredentials(action: string, credentials: Credentials | undefined): IssuedCredentials {
  const { AccessKeyId, SecretAccessKey, SessionToken, Expiration } = credentials ?? {};
  if (!AccessKeyId || !SecretAccessKey || !SessionToken || !Expiration) {
    throw new AwsCallError(action, "IncompleteResponse", "the response has no complete Credentials");
  }
  return { AccessKeyId, SecretAccessKey, SessionToken, Expiration };
}

function leaseFrom(
  credentialType: CredentialType,
  credentials: IssuedCredentials,
  opts: StsIssueOptions,
  arn: string | undefined,
  username: string | undefined,
  sessionRevocation?: SessionRevocation,
): IssuedLease {
  const expiration = new Date(credentials.Expiration);
  const leaseDuration = Math.max(0, Math.floor(expiration.getTime() / 1000) - Math.floor(opts.now.getTime() / 1000));
  return {
    leaseId: opts.leaseId,
    credentialType,
    accessKey: credentials.AccessKeyId,
    secretKey: credentials.SecretAccessKey,
    sessionToken: credentials.SessionToken,
    ...(arn ? { arn } : {}),
    ...(username ? { username } : {}),
    ...(sessionRevocation ? { sessionRevocation } : {}),
    issuedAt: isoSeconds(opts.now),
    expiresAt: isoSeconds(expiration),
    leaseDuration,
    renewable: false,
    warnings: [],
  };
}

/** The session policy as AssumeRole and GetFederationToken take it (neither key when there is none). */
function sessionPolicyParams(policy: string | undefined, policyArns: string[]): { Policy?: string; PolicyArns?: { arn: string }[] } {
  return { ...(policy ? { Policy: policy } : {}), ...(policyArns.length > 0 ? { PolicyArns: policyArns.map((arn) => ({ arn })) } : {}) };
}

/** sts:AssumeRole with the role's session policy, session tags and external id. */
export async function issueAssumedRole(clients: AwsClients, role: RoleSettings, request: LeaseRequest, opts: StsIssueOptions): Promise<IssuedLease> {
  if (!opts.roleArn) throw ValidationError.of("roleArn", "assumed_role needs a role ARN to assume");
  const { policy, policyArns } = await sessionPolicy(clients, role);
  const tags = Object.entries(role.sessionTags).map(([Key, Value]) => ({ Key, Value }));
  const { sts } = clients;
  const response = await call("sts:AssumeRole", () =>
    sts.send(
      new AssumeRoleCommand({
        RoleArn: opts.roleArn,
        RoleSessionName: opts.sessionName,
        DurationSeconds: opts.ttlSeconds,
        ...sessionPolicyParams(policy, policyArns),
        ...(tags.length > 0 ? { Tags: tags } : {}),
        ...(role.externalId ? { ExternalId: role.externalId } : {}),
      }),
    ),
  );
  // No usability wait for any STS type, whatever waitUntilUsable says: that wait is for
  // new IAM access keys, which IAM replicates with a delay. STS credentials are usable
  // the moment STS returns them (and emulators cannot check the STS keys they make).
  const credentials = usableCredentials("sts:AssumeRole", response.Credentials);
  // AssumedRoleId is the session's aws:userid, `<RoleId>:<session name>`; RoleName is the ARN's last part.
  const sessionId = response.AssumedRoleUser?.AssumedRoleId;
  const revocation: SessionRevocation | undefined = sessionId ? { principal: "role", name: roleNameOfArn(opts.roleArn), sessionId } : undefined;
  return leaseFrom("assumed_role", credentials, opts, response.AssumedRoleUser?.Arn, opts.sessionName, revocation);
}

/**
 * sts:GetFederationToken. Without any session policy the token would carry the
 * engine's own permissions, so that is refused (as Vault does).
 */
export async function issueFederationToken(clients: AwsClients, role: RoleSettings, _request: LeaseRequest, opts: StsIssueOptions): Promise<IssuedLease> {
  // The name's 32-character limit is enforced where it is rendered (usernameTemplate.ts).
  const { policy, policyArns } = await sessionPolicy(clients, role);
  if (!policy && policyArns.length === 0) {
    throw ValidationError.of(
      "policyDocument",
      "federation_token needs a policyDocument, policyArns or iamGroups with policies; " + "without one the token would have the engine's own permissions",
    );
  }
  const { sts } = clients;
  // Who calls GetFederationToken (an IAM user) is where a revoke denies the session: asked at the same time.
  const [response, caller] = await Promise.all([
    call("sts:GetFederationToken", () =>
      sts.send(
        new GetFederationTokenCommand({
          Name: opts.sessionName,
          DurationSeconds: opts.ttlSeconds,
          ...sessionPolicyParams(policy, policyArns),
        }),
      ),
    ),
    callerIdentity(clients).catch(() => undefined),
  ]);
  // No usability wait (see issueAssumedRole).
  const credentials = usableCredentials("sts:GetFederationToken", response.Credentials);
  const sessionId = response.FederatedUser?.FederatedUserId;
  const user = caller && iamUserNameOfArn(caller.arn);
  const revocation: SessionRevocation | undefined = sessionId && user ? { principal: "user", name: user, sessionId } : undefined;
  return leaseFrom("federation_token", credentials, opts, response.FederatedUser?.Arn, opts.sessionName, revocation);
}

/** sts:GetSessionToken, with the role's MFA device and the request's code when the role has one. */
export async function issueSessionToken(
  clients: Pick<AwsClients, "sts">,
  role: RoleSettings,
  request: LeaseRequest,
  opts: StsIssueOptions,
): Promise<IssuedLease> {
  if (role.mfaSerialNumber && !request.mfaCode) {
    throw ValidationError.of("mfaCode", `role "${role.name}" has an MFA device: an MFA code is required`);
  }
  const { sts } = clients;
  const response = await call("sts:GetSessionToken", () =>
    sts.send(
      new GetSessionTokenCommand({
        DurationSeconds: opts.ttlSeconds,
        ...(role.mfaSerialNumber ? { SerialNumber: role.mfaSerialNumber, TokenCode: request.mfaCode } : {}),
      }),
    ),
  );
  // No usability wait (see issueAssumedRole).
  const credentials = usableCredentials("sts:GetSessionToken", response.Credentials);
  // GetSessionToken returns no ARN; the session has the caller's identity.
  return leaseFrom("session_token", credentials, opts, undefined, undefined);
}

/** Who the engine's root credentials are (sts:GetCallerIdentity); validates them. */
export async function callerIdentity(clients: Pick<AwsClients, "sts">): Promise<{ accountId: string; arn: string; userId: string }> {
  const { sts } = clients;
  const identity = await call("sts:GetCallerIdentity", () => sts.send(new GetCallerIdentityCommand({})));
  if (!identity.Account || !identity.Arn || !identity.UserId) {
    throw new AwsCallError("sts:GetCallerIdentity", "IncompleteResponse", "the response has no Account, Arn or UserId");
  }
  return { accountId: identity.Account, arn: identity.Arn, userId: identity.UserId };
}
