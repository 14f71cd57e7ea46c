// The one place AWS clients are built: endpoints, regions, credentials, retries,
// timeouts and the user agent. The AWS functions take the clients they use
// (`issueIamUser({ iam, sts }, ...)`); callers build them per operation with
// withAwsClients and never store them: the provider must stay stateless (anything
// captured would be serialized into Pulumi state). The SDK is loaded when a client is
// built, so a program that only declares resources never loads it.
import type { IAMClient } from "@aws-sdk/client-iam";
import type { STSClient } from "@aws-sdk/client-sts";
import type { MountSettings } from "../types";
import { parseDuration } from "../duration";
import { awsleaseVersion } from "../version";

export interface StaticCredentials {
  accessKeyId: string;
  secretAccessKey: string;
  sessionToken?: string;
}

/**
 * maxRetries -1: 3 retries (4 attempts), the default of the Go SDK Vault uses. The JS
 * SDK's own default (2 retries) gives up on IAM throttling too soon.
 */
export const DEFAULT_ATTEMPTS = 4;

/**
 * Retries: the SDK's standard retry strategy retries throttling, clock skew and
 * transient (5xx, network) errors with jittered exponential backoff, and never
 * retries validation or permission errors - exactly the policy we want.
 */
function retryOptions(engine: Pick<MountSettings, "maxRetries">) {
  const maxAttempts = engine.maxRetries < 0 ? DEFAULT_ATTEMPTS : engine.maxRetries + 1;
  return { maxAttempts, retryMode: "standard" as const };
}

/** Default bound on one AWS request; AWSLEASE_AWS_TIMEOUT (a duration) overrides it. */
export const DEFAULT_REQUEST_TIMEOUT_MS = 15_000;
const CONNECT_TIMEOUT_MS = 5_000;

/**
 * Timeouts: the SDK waits forever by default, so an endpoint that accepts a
 * connection and never answers would hang a revoke (and hold its stack's lock) for
 * good. A timed-out attempt is retried like any transient error.
 */
export function requestHandlerOptions(env: NodeJS.ProcessEnv = process.env) {
  const raw = env.AWSLEASE_AWS_TIMEOUT;
  const requestTimeout = raw ? parseDuration(raw, "AWSLEASE_AWS_TIMEOUT") * 1000 : DEFAULT_REQUEST_TIMEOUT_MS;
  return {
    connectionTimeout: Math.min(CONNECT_TIMEOUT_MS, requestTimeout),
    requestTimeout,
    throwOnRequestTimeout: true,
    ...proxyAgents(env),
  };
}

const PROXY_VARIABLES = ["HTTPS_PROXY", "https_proxy", "HTTP_PROXY", "http_proxy"];

/**
 * HTTPS_PROXY / HTTP_PROXY / NO_PROXY (either case), as the AWS CLI and
 * configure-aws-credentials honour them: the SDK's agents are built with Node's own
 * proxy support (`proxyEnv`, Node 22.21 and later; older Nodes ignore it). Without a
 * proxy variable the SDK's default agents are kept.
 */
function proxyAgents(env: NodeJS.ProcessEnv): { httpAgent?: import("node:http").Agent; httpsAgent?: import("node:https").Agent } {
  if (!PROXY_VARIABLES.some((name) => env[name])) return {};
  const http = require("node:http") as typeof import("node:http");
  const https = require("node:https") as typeof import("node:https");
  // proxyEnv is newer than @types/node 22's AgentOptions.
  const options = { keepAlive: true, maxSockets: 50, proxyEnv: { ...env } } as import("node:http").AgentOptions;
  return { httpAgent: new http.Agent(options), httpsAgent: new https.Agent(options) };
}

/** The engine's root credentials, or undefined to let the SDK default chain resolve them at call time. */
export function rootCredentials(engine: MountSettings): StaticCredentials | undefined {
  if (engine.accessKey && engine.secretKey) {
    return { accessKeyId: engine.accessKey, secretAccessKey: engine.secretKey };
  }
  return undefined;
}

/** `awslease/<version>` in every request's user agent, so CloudTrail shows which calls were awslease's. */
function userAgent(): [string, string][] {
  return [["awslease", awsleaseVersion()]];
}

/** The clients of one operation on a mount. */
export interface AwsClients {
  readonly iam: IAMClient;
  readonly sts: STSClient;
}

/** Clients with the engine's root credentials, each built when first used. */
export function awsClients(engine: MountSettings): AwsClients & { destroy(): void } {
  let iam: IAMClient | undefined;
  let sts: STSClient | undefined;
  return {
    get iam() {
      return (iam ??= iamClient(engine));
    },
    get sts() {
      return (sts ??= stsClient(engine));
    },
    destroy() {
      iam?.destroy();
      sts?.destroy();
    },
  };
}

/** Runs fn with the engine's clients, destroyed (their sockets closed) when it ends. */
export async function withAwsClients<T>(engine: MountSettings, fn: (clients: AwsClients) => Promise<T>): Promise<T> {
  const clients = awsClients(engine);
  try {
    return await fn(clients);
  } finally {
    clients.destroy();
  }
}

/** IAM client with the engine's root credentials (or the given ones). */
export function iamClient(engine: MountSettings, credentials?: StaticCredentials): IAMClient {
  const { IAMClient } = require("@aws-sdk/client-iam") as typeof import("@aws-sdk/client-iam");
  return new IAMClient({
    region: engine.region,
    endpoint: engine.iamEndpoint || undefined,
    credentials: credentials ?? rootCredentials(engine),
    requestHandler: requestHandlerOptions(),
    customUserAgent: userAgent(),
    ...retryOptions(engine),
  });
}

/** STS client; sts_region applies only together with sts_endpoint, as in Vault. */
export function stsClient(engine: MountSettings, credentials?: StaticCredentials): STSClient {
  const region = engine.stsEndpoint && engine.stsRegion ? engine.stsRegion : engine.region;
  const { STSClient } = require("@aws-sdk/client-sts") as typeof import("@aws-sdk/client-sts");
  return new STSClient({
    region,
    endpoint: engine.stsEndpoint || undefined,
    credentials: credentials ?? rootCredentials(engine),
    requestHandler: requestHandlerOptions(),
    customUserAgent: userAgent(),
    ...retryOptions(engine),
  });
}

/** Where a Pulumi S3 state backend lives, from its s3:// URL. */
export interface StateBucket {
  bucket: string;
  /** Key prefix inside the bucket ("" or ending in "/"). */
  prefix: string;
  region: string;
  endpoint?: string;
  forcePathStyle: boolean;
}

/**
 * Client for reading the lease table's own state bucket. Credentials come from the
 * SDK's default chain, as they do for pulumi itself; never the engine's root keys.
 */
export function stateBucketClient(state: StateBucket) {
  const { S3Client } = require("@aws-sdk/client-s3") as typeof import("@aws-sdk/client-s3");
  return new S3Client({
    region: state.region,
    endpoint: state.endpoint,
    forcePathStyle: state.forcePathStyle,
    requestHandler: requestHandlerOptions(),
    customUserAgent: userAgent(),
    maxAttempts: DEFAULT_ATTEMPTS,
    retryMode: "standard",
  });
}
