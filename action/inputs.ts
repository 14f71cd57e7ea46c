// The action's inputs, one table: action.yml declares the same (a unit test holds them
// equal), and `leaseRoute` turns them into where a lease is issued and revoked.
import { ValidationError } from "../provider/errors";
import { input, type RunnerEnv } from "./runner";

export interface ActionInput {
  name: string;
  description: string;
  required?: boolean;
  default?: string;
}

export const ACTION_INPUTS: readonly ActionInput[] = [
  { name: "role", required: true, description: "The awslease role to issue credentials for" },
  { name: "mount", default: "aws", description: "The mount (engine instance) the role is in" },
  { name: "ttl", description: "Lease TTL, e.g. 900, 15m or 1h (default: the role's, else the mount's)" },
  { name: "role-arn", description: "assumed_role: which of the role's ARNs to assume (needed when it has several)" },
  { name: "role-session-name", description: "assumed_role: the session name" },
  {
    name: "backend",
    description:
      "State backend with the mount and the lease table (file://... or s3://...; default $AWSLEASE_BACKEND, else ~/.awslease/state). Engine mode only",
  },
  {
    name: "secrets-provider",
    description: "Pulumi secrets provider of the lease table (default: passphrase, from env PULUMI_CONFIG_PASSPHRASE). Engine mode only",
  },
  {
    name: "server-address",
    description: "An awslease server (https://...) to issue and revoke through, with token: the runner then needs neither pulumi nor the passphrase",
  },
  { name: "token", description: "The awslease server token (a scoped one, from a secret); with server-address" },
];

/** Where the lease comes from: an awslease server, or the Pulumi engine on this runner. */
export type LeaseRoute =
  { kind: "server"; client: import("../cli/serverClient").ServerClient } | { kind: "engine"; ctx: import("../service/context").ServiceContext };

const SERVER_FIELDS: Record<string, string> = { AWSLEASE_ADDR: "server-address", AWSLEASE_TOKEN: "token" };

/**
 * The route the inputs name, checked before anything is issued: a server needs both
 * server-address and token; the engine needs a pulumi CLI and a passphrase (or secrets
 * provider), and each missing part is named with what to add to the workflow.
 */
export function leaseRoute(env: RunnerEnv, progress: (line: string) => void): LeaseRoute {
  const addr = input(env, "server-address");
  const token = input(env, "token");
  if (addr || token) {
    if (!addr) throw new ValidationError([{ field: "token", reason: "goes with server-address (the awslease server to use)" }]);
    for (const engineOnly of ["backend", "secrets-provider"]) {
      if (input(env, engineOnly)) throw new ValidationError([{ field: engineOnly, reason: "is for engine mode: the server has its own state" }]);
    }
    const { serverAddress, ServerClient } = require("../cli/serverClient") as typeof import("../cli/serverClient");
    try {
      const at = serverAddress({ AWSLEASE_ADDR: addr, AWSLEASE_TOKEN: token });
      return { kind: "server", client: new ServerClient(at!) };
    } catch (err) {
      const failures = (err as ValidationError).failures;
      if (!failures) throw err;
      throw new ValidationError(failures.map((f) => ({ field: SERVER_FIELDS[f.field] ?? f.field, reason: f.reason.replace(/AWSLEASE_TOKEN/g, "token") })));
    }
  }
  const { serviceContext } = require("../service/context") as typeof import("../service/context");
  const { pulumiBinary, secretsConfigured } = require("../service/pulumi/automation") as typeof import("../service/pulumi/automation");
  const secretsProvider = input(env, "secrets-provider") || undefined;
  const ctx = serviceContext({ mount: input(env, "mount") || "aws", backend: input(env, "backend") || undefined, secretsProvider, progress }, env);
  if (!secretsConfigured(ctx, env)) {
    throw new ValidationError([
      {
        field: "PULUMI_CONFIG_PASSPHRASE",
        reason:
          "not set: give the step `env: PULUMI_CONFIG_PASSPHRASE: ${{ secrets.… }}` (it decrypts the lease table), or the secrets-provider input, or use server-address and token",
      },
    ]);
  }
  try {
    pulumiBinary(env);
  } catch {
    throw new ValidationError([
      {
        field: "pulumi",
        reason: "no pulumi CLI on this runner: add `- uses: pulumi/actions@v6` before this step (or set AWSLEASE_PULUMI), or use server-address and token",
      },
    ]);
  }
  return { kind: "engine", ctx };
}
