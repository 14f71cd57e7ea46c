// Clients for tests, pointed at the moto server of this run.
import { inject } from "vitest";
import { AttachRolePolicyCommand, CreatePolicyCommand, CreateRoleCommand, IAMClient } from "@aws-sdk/client-iam";
import { STSClient } from "@aws-sdk/client-sts";
import type { MountSettings } from "../../provider/types";

export function moto() {
  return inject("moto");
}

export function creds(accessKeyId: string, secretAccessKey: string, sessionToken?: string) {
  return { accessKeyId, secretAccessKey, sessionToken };
}

/** IAM and STS clients with the given keys (default: the bootstrapped root user). */
export function clients(accessKey?: string, secretKey?: string, sessionToken?: string) {
  const m = moto();
  const credentials = creds(accessKey ?? m.accessKey, secretKey ?? m.secretKey, sessionToken);
  // maxAttempts 1: a denied or rejected key must show as such, not be retried.
  const common = { endpoint: m.endpoint, region: m.region, credentials, maxAttempts: 1 };
  return { iam: new IAMClient(common), sts: new STSClient(common) };
}

/** A mount's settings for the AWS module, pointed at moto with the root keys. */
export function motoMountSettings(overrides: Partial<MountSettings> = {}): MountSettings {
  const m = moto();
  return {
    mount: "aws",
    accessKey: m.accessKey,
    secretKey: m.secretKey,
    region: m.region,
    iamEndpoint: m.endpoint,
    stsEndpoint: m.endpoint,
    maxRetries: 2,
    leaseSeconds: 3600,
    leaseMaxSeconds: 24 * 3600,
    ...overrides,
  };
}

/** A unique suffix so tests sharing one moto never collide. */
export function uniq(prefix: string): string {
  return `${prefix}-${Date.now().toString(36)}${Math.random().toString(36).slice(2, 6)}`;
}

/** An identity policy allowing `actions` on every resource. */
export function allowPolicy(actions: string[]): string {
  return JSON.stringify({ Version: "2012-10-17", Statement: [{ Effect: "Allow", Action: actions, Resource: "*" }] });
}

/**
 * An IAM role the root test user may assume, with a managed policy allowing `actions`;
 * returns its ARN. The account root is what one writes for AWS; moto admits a caller
 * only by its exact ARN, so both are listed.
 */
export async function createAssumableRole(actions: string[], trustCondition?: Record<string, unknown>): Promise<string> {
  const { iam } = clients();
  const m = moto();
  const name = uniq("role");
  const trust = {
    Version: "2012-10-17",
    Statement: [
      {
        Effect: "Allow",
        Principal: { AWS: [`arn:aws:iam::${m.accountId}:root`, `arn:aws:iam::${m.accountId}:user/root`] },
        Action: "sts:AssumeRole",
        ...(trustCondition ? { Condition: trustCondition } : {}),
      },
    ],
  };
  const created = await iam.send(new CreateRoleCommand({ RoleName: name, AssumeRolePolicyDocument: JSON.stringify(trust) }));
  const policy = await iam.send(new CreatePolicyCommand({ PolicyName: uniq("allow"), PolicyDocument: allowPolicy(actions) }));
  await iam.send(new AttachRolePolicyCommand({ RoleName: name, PolicyArn: policy.Policy!.Arn! }));
  iam.destroy();
  return created.Role!.Arn!;
}

/** The error name an AWS call fails with, or "no error". */
export async function errorName(p: Promise<unknown>): Promise<string> {
  try {
    await p;
    return "no error";
  } catch (err) {
    return (err as Error).name;
  }
}
