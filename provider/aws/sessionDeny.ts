// Revoking an STS session in AWS. AWS checks every request made with temporary
// credentials against the current policies of the identity behind them, and names the
// session by aws:userid: `<RoleId>:<session name>` for a role session,
// `<account>:<name>` for a federated user. So a Deny for exactly that aws:userid, on the
// role (assumed_role) or on the IAM user that called GetFederationToken
// (federation_token), stops that session within seconds and no other.
//
// The Denies live in one inline policy per role or user, awslease-revoked-sessions.
// Revokes within one minute share a statement (a list of ids), and each statement is
// dropped once every session in it has expired: by the next revoke on that principal,
// and by sweep (which the server's expiration manager runs).
//
// Each statement also carries `aws:TokenIssueTime` before its window's end (the revoke
// plus at least a minute, for clock skew): a later session that reuses a revoked name is
// not denied once that minute has passed.
//
// When the principal's inline policies would outgrow IAM's quota (10,240 characters for
// a role, 2,048 for a user, whitespace not counted), the statements are first merged
// into one; if that is still too large, they are replaced by AWS's own "revoke older
// sessions" form: Deny every session issued before now. The result says so.
import {
  DeleteRolePolicyCommand,
  DeleteUserPolicyCommand,
  GetRolePolicyCommand,
  GetUserPolicyCommand,
  PutRolePolicyCommand,
  PutUserPolicyCommand,
} from "@aws-sdk/client-iam";
import type { SessionRevocation } from "../types";
import type { AwsClients } from "./clients";
import { AwsCallError, call, isNoSuchEntity } from "./errors";
import { isoSeconds } from "../duration";

export const REVOKED_SESSIONS_POLICY = "awslease-revoked-sessions";
/** AWS: the inline policies of a role total at most 10,240 characters; of a user, 2,048 (whitespace not counted). */
const INLINE_POLICIES_MAX: Record<SessionRevocation["principal"], number> = { role: 10_240, user: 2_048 };
/** Revokes within one window share a statement. */
const WINDOW_SECONDS = 60;
/** Our clock against AWS's: a statement's TokenIssueTime bound is at least this far past the revoke. */
const CLOCK_SLACK_SECONDS = 60;
/** The longest STS session on each principal (AssumeRole 12 h, GetFederationToken 36 h): how long "older sessions" stays. */
export const LONGEST_SESSION_SECONDS: Record<SessionRevocation["principal"], number> = { role: 43_200, user: 129_600 };

interface Statement {
  Sid?: string;
  Effect: string;
  Action: string | string[];
  Resource: string | string[];
  Condition?: Record<string, Record<string, string | string[]>>;
}

interface PolicyDocument {
  Version: "2012-10-17";
  Statement: Statement[];
}

/** What awslease reads from its own statements' Sids: `AwsleaseW<window end>U<prune after>` or `AwsleaseOlderU<prune after>` (epoch seconds). */
const SID = /^Awslease(?:W(\d+)|Older)U(\d+)$/;

export interface Target {
  principal: SessionRevocation["principal"];
  name: string;
}

interface DenyResult {
  /** "denied": the session's own Deny; "older-sessions": every session issued before now is denied (the quota was reached). */
  how: "denied" | "older-sessions";
  document: PolicyDocument;
}

const epoch = (ms: number) => Math.floor(ms / 1000);

/** The statements that outlived every session in them are dropped; statements not awslease's are kept as they are. */
function pruned(doc: PolicyDocument, now: Date): PolicyDocument {
  return {
    Version: "2012-10-17",
    Statement: doc.Statement.filter((s) => {
      const m = SID.exec(s.Sid ?? "");
      return !m || Number(m[2]) > epoch(now.getTime());
    }),
  };
}

function idStatement(windowEnd: number, pruneAfter: number, ids: string[]): Statement {
  return {
    Sid: `AwsleaseW${windowEnd}U${pruneAfter}`,
    Effect: "Deny",
    Action: "*",
    Resource: "*",
    Condition: { StringEquals: { "aws:userid": ids }, DateLessThan: { "aws:TokenIssueTime": isoSeconds(new Date(windowEnd * 1000)) } },
  };
}

function idsOf(s: Statement): string[] {
  const ids = s.Condition?.StringEquals?.["aws:userid"];
  return ids === undefined ? [] : Array.isArray(ids) ? ids : [ids];
}

/** The document with a Deny for sessionId added (to this minute's statement), expired statements dropped. */
function withSessionDenied(doc: PolicyDocument, sessionId: string, expiresAt: Date, now: Date): PolicyDocument {
  const windowEnd = Math.ceil((epoch(now.getTime()) + CLOCK_SLACK_SECONDS) / WINDOW_SECONDS) * WINDOW_SECONDS;
  const pruneAfter = epoch(expiresAt.getTime()) + CLOCK_SLACK_SECONDS;
  const kept = pruned(doc, now);
  const index = kept.Statement.findIndex((s) => SID.exec(s.Sid ?? "")?.[1] === String(windowEnd));
  if (index < 0) return { ...kept, Statement: [...kept.Statement, idStatement(windowEnd, pruneAfter, [sessionId])] };
  const current = kept.Statement[index];
  const ids = [...new Set([...idsOf(current), sessionId])];
  const statements = [...kept.Statement];
  statements[index] = idStatement(windowEnd, Math.max(pruneAfter, Number(SID.exec(current.Sid!)![2])), ids);
  return { ...kept, Statement: statements };
}

/** All of awslease's id statements as one: the latest window, the latest prune time, every id. */
function compacted(doc: PolicyDocument): PolicyDocument {
  const ours = doc.Statement.filter((s) => SID.exec(s.Sid ?? "")?.[1] !== undefined);
  if (ours.length < 2) return doc;
  const windowEnd = Math.max(...ours.map((s) => Number(SID.exec(s.Sid!)![1])));
  const pruneAfter = Math.max(...ours.map((s) => Number(SID.exec(s.Sid!)![2])));
  const merged = idStatement(windowEnd, pruneAfter, [...new Set(ours.flatMap(idsOf))]);
  return { Version: "2012-10-17", Statement: [...doc.Statement.filter((s) => !ours.includes(s)), merged] };
}

/** AWS's "revoke older sessions": Deny every session of the principal issued before now, kept until the longest session ends. */
function olderSessionsDenied(doc: PolicyDocument, principal: Target["principal"], now: Date): PolicyDocument {
  const others = doc.Statement.filter((s) => !SID.test(s.Sid ?? ""));
  const pruneAfter = epoch(now.getTime()) + LONGEST_SESSION_SECONDS[principal] + CLOCK_SLACK_SECONDS;
  const statement: Statement = {
    Sid: `AwsleaseOlderU${pruneAfter}`,
    Effect: "Deny",
    Action: "*",
    Resource: "*",
    Condition: { DateLessThan: { "aws:TokenIssueTime": isoSeconds(now) } },
  };
  return { Version: "2012-10-17", Statement: [...others, statement] };
}

/** Its size as IAM counts it (no whitespace: JSON.stringify writes none). */
function policySize(doc: PolicyDocument): number {
  return JSON.stringify(doc).length;
}

/** Does the document deny this session (its own id, or every session issued before now)? */
function denies(doc: PolicyDocument, sessionId: string): boolean {
  return doc.Statement.some((s) => {
    const m = SID.exec(s.Sid ?? "");
    return m && (m[1] === undefined || idsOf(s).includes(sessionId));
  });
}

// ---- AWS ----

const ACTIONS = {
  role: { get: "iam:GetRolePolicy", put: "iam:PutRolePolicy", delete: "iam:DeleteRolePolicy" },
  user: { get: "iam:GetUserPolicy", put: "iam:PutUserPolicy", delete: "iam:DeleteUserPolicy" },
} as const;

async function readPolicy(clients: Pick<AwsClients, "iam">, target: Target): Promise<PolicyDocument> {
  const { iam } = clients;
  try {
    const res = await call<{ PolicyDocument?: string }>(ACTIONS[target.principal].get, () =>
      target.principal === "role"
        ? iam.send(new GetRolePolicyCommand({ RoleName: target.name, PolicyName: REVOKED_SESSIONS_POLICY }))
        : iam.send(new GetUserPolicyCommand({ UserName: target.name, PolicyName: REVOKED_SESSIONS_POLICY })),
    );
    const doc = JSON.parse(decodeURIComponent(res.PolicyDocument ?? "")) as PolicyDocument;
    return { Version: "2012-10-17", Statement: Array.isArray(doc.Statement) ? doc.Statement : doc.Statement ? [doc.Statement] : [] };
  } catch (err) {
    if (isNoSuchEntity(err)) return { Version: "2012-10-17", Statement: [] };
    throw err;
  }
}

async function writePolicy(clients: Pick<AwsClients, "iam">, target: Target, doc: PolicyDocument): Promise<void> {
  const { iam } = clients;
  if (doc.Statement.length === 0) {
    await call(ACTIONS[target.principal].delete, () =>
      target.principal === "role"
        ? iam.send(new DeleteRolePolicyCommand({ RoleName: target.name, PolicyName: REVOKED_SESSIONS_POLICY }))
        : iam.send(new DeleteUserPolicyCommand({ UserName: target.name, PolicyName: REVOKED_SESSIONS_POLICY })),
    ).catch((err) => {
      if (!isNoSuchEntity(err)) throw err;
    });
    return;
  }
  const PolicyDocument = JSON.stringify(doc);
  await call(ACTIONS[target.principal].put, () =>
    target.principal === "role"
      ? iam.send(new PutRolePolicyCommand({ RoleName: target.name, PolicyName: REVOKED_SESSIONS_POLICY, PolicyDocument }))
      : iam.send(new PutUserPolicyCommand({ UserName: target.name, PolicyName: REVOKED_SESSIONS_POLICY, PolicyDocument })),
  );
}

function isLimitExceeded(err: unknown): boolean {
  return err instanceof AwsCallError && (err.code === "LimitExceeded" || err.code === "LimitExceededException");
}

/** One read-modify-write of a principal's policy at a time in this process (revokes of one role often come together). */
const writing = new Map<string, Promise<unknown>>();

async function serialized<T>(target: Target, fn: () => Promise<T>): Promise<T> {
  const key = `${target.principal}/${target.name}`;
  const before = writing.get(key) ?? Promise.resolve();
  const run = before.catch(() => undefined).then(fn);
  writing.set(key, run);
  try {
    return await run;
  } finally {
    if (writing.get(key) === run) writing.delete(key);
  }
}

/** Writes the first candidate that fits the quota (ours, then IAM's own LimitExceeded). */
async function writeFirstThatFits(
  clients: Pick<AwsClients, "iam">,
  target: Target,
  candidates: Array<[DenyResult["how"], PolicyDocument]>,
): Promise<DenyResult> {
  let lastError: unknown;
  for (const [how, document] of candidates) {
    if (policySize(document) > INLINE_POLICIES_MAX[target.principal]) continue;
    try {
      await writePolicy(clients, target, document);
      return { how, document };
    } catch (err) {
      if (!isLimitExceeded(err)) throw err;
      lastError = err;
    }
  }
  throw (
    lastError ??
    new AwsCallError(ACTIONS[target.principal].put, "LimitExceeded", `${REVOKED_SESSIONS_POLICY} does not fit in ${target.principal} ${target.name}`)
  );
}

/**
 * Denies one session on its role or user. Read, add, write; then read back, since
 * another process may have written the same policy in between (a bulk revoke runs
 * several engine runs at once): a lost Deny is written again.
 */
export async function denySession(
  clients: Pick<AwsClients, "iam">,
  revocation: SessionRevocation,
  expiresAt: Date,
  now: () => Date = () => new Date(),
): Promise<DenyResult> {
  const target: Target = { principal: revocation.principal, name: revocation.name };
  return serialized(target, async () => {
    for (let attempt = 1; ; attempt++) {
      const current = await readPolicy(clients, target);
      const at = now();
      const added = withSessionDenied(current, revocation.sessionId, expiresAt, at);
      const result = await writeFirstThatFits(clients, target, [
        ["denied", added],
        ["denied", compacted(added)],
        ["older-sessions", olderSessionsDenied(current, target.principal, at)],
      ]);
      if (denies(await readPolicy(clients, target), revocation.sessionId) || attempt === 3) return result;
    }
  });
}

/** Drops the statements whose sessions have all expired (sweep); the policy goes when none is left. Returns how many were dropped. */
export async function pruneRevokedSessions(clients: Pick<AwsClients, "iam">, target: Target, now: Date = new Date()): Promise<number> {
  return serialized(target, async () => {
    const current = await readPolicy(clients, target);
    const kept = pruned(current, now);
    const dropped = current.Statement.length - kept.Statement.length;
    if (dropped > 0) await writePolicy(clients, target, kept);
    return dropped;
  });
}
