// Session policies for the STS credential types: the role's own policy plus the
// policies of its IAM groups (Vault's iam_policies.go). An STS session cannot join
// a group, so a group's permissions are passed as session policy instead.
import { GetGroupPolicyCommand, ListAttachedGroupPoliciesCommand, ListGroupPoliciesCommand, type IAMClient } from "@aws-sdk/client-iam";
import type { RoleSettings } from "../types";
import type { AwsClients } from "./clients";
import { call } from "./errors";

const POLICY_VERSION = "2012-10-17";

/** Runs one IAM call about a group; a failure names both the action and the group. */
function groupCall<T>(action: string, group: string, fn: () => Promise<T>): Promise<T> {
  return call(action, async () => {
    try {
      return await fn();
    } catch (err) {
      const source = err as { name?: string; message?: string } | undefined;
      // Keep the AWS error name: call() turns it into the error code.
      const annotated = new Error(`group "${group}": ${source?.message ?? String(err)}`);
      annotated.name = source?.name || "Error";
      throw annotated;
    }
  });
}

async function attachedPolicyArns(iam: IAMClient, group: string): Promise<string[]> {
  const arns: string[] = [];
  let marker: string | undefined;
  do {
    const page = await groupCall("iam:ListAttachedGroupPolicies", group, () =>
      iam.send(new ListAttachedGroupPoliciesCommand({ GroupName: group, Marker: marker })),
    );
    for (const policy of page.AttachedPolicies ?? []) {
      if (policy.PolicyArn) arns.push(policy.PolicyArn);
    }
    marker = page.IsTruncated ? page.Marker : undefined;
  } while (marker);
  return arns;
}

async function inlinePolicyDocuments(iam: IAMClient, group: string): Promise<string[]> {
  const names: string[] = [];
  let marker: string | undefined;
  do {
    const page = await groupCall("iam:ListGroupPolicies", group, () => iam.send(new ListGroupPoliciesCommand({ GroupName: group, Marker: marker })));
    names.push(...(page.PolicyNames ?? []));
    marker = page.IsTruncated ? page.Marker : undefined;
  } while (marker);

  const documents: string[] = [];
  for (const policyName of names) {
    const policy = await groupCall("iam:GetGroupPolicy", group, () => iam.send(new GetGroupPolicyCommand({ GroupName: group, PolicyName: policyName })));
    // IAM returns policy documents URL-encoded (RFC 3986).
    if (policy.PolicyDocument) documents.push(decodeURIComponent(policy.PolicyDocument));
  }
  return documents;
}

/** The inline policy documents (decoded JSON) and managed policy ARNs of the given IAM groups. */
export async function groupPolicies(clients: Pick<AwsClients, "iam">, groups: string[]): Promise<{ inlinePolicies: string[]; policyArns: string[] }> {
  const inlinePolicies: string[] = [];
  const policyArns: string[] = [];
  if (groups.length === 0) return { inlinePolicies, policyArns };
  const { iam } = clients;
  for (const group of groups) {
    policyArns.push(...(await attachedPolicyArns(iam, group)));
    inlinePolicies.push(...(await inlinePolicyDocuments(iam, group)));
  }
  return { inlinePolicies, policyArns };
}

/**
 * Merges policy documents into one, as Vault's combinePolicyDocuments: the statements
 * are concatenated under Version 2012-10-17; a single Statement object counts as a
 * one-element list. Empty documents are skipped. Returns compact JSON, or undefined
 * when there is no statement at all. Throws on a document that is not a JSON object.
 */
export function combinePolicyDocuments(documents: string[]): string | undefined {
  const statements: unknown[] = [];
  documents.forEach((document, index) => {
    if (document.trim() === "") return;
    let parsed: unknown;
    try {
      parsed = JSON.parse(document);
    } catch (err) {
      throw new Error(`policy document ${index + 1} is not valid JSON: ${(err as Error).message}`, { cause: err });
    }
    if (typeof parsed !== "object" || parsed === null || Array.isArray(parsed)) {
      throw new Error(`policy document ${index + 1} is not a JSON object`);
    }
    const statement = (parsed as { Statement?: unknown }).Statement;
    if (statement === undefined || statement === null) return;
    if (Array.isArray(statement)) {
      statements.push(...statement);
    } else if (typeof statement === "object") {
      statements.push(statement);
    } else {
      throw new Error(`policy document ${index + 1}: Statement must be an object or a list of objects`);
    }
  });
  if (statements.length === 0) return undefined;
  return JSON.stringify({ Version: POLICY_VERSION, Statement: statements });
}

/**
 * The session policy of an assumed_role or federation_token issue: the role's policy
 * document merged with its groups' inline policies, and the role's policy ARNs plus
 * its groups' managed policy ARNs (first occurrence kept).
 */
export async function sessionPolicy(clients: Pick<AwsClients, "iam">, role: RoleSettings): Promise<{ policy?: string; policyArns: string[] }> {
  const fromGroups = await groupPolicies(clients, role.iamGroups);
  // Without group documents the role's (already compact) document is used as is, as in Vault.
  const policy =
    fromGroups.inlinePolicies.length > 0 ? combinePolicyDocuments([role.policyDocument ?? "", ...fromGroups.inlinePolicies]) : role.policyDocument || undefined;
  const policyArns = [...new Set([...role.policyArns, ...fromGroups.policyArns])];
  return { policy, policyArns };
}
