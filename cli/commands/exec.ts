// `awslease exec ROLE -- CMD`: issue, run CMD with the credentials in its environment,
// always revoke afterwards (even when CMD fails or is interrupted), exit with CMD's code.
import { spawn } from "node:child_process";
import type { CommandModule, Argv } from "yargs";
import { revokeOne, stopProgress, withUserUmask, type GlobalArgs } from "./common";
import { issueFromArgs, issueOptions, type IssueArgs } from "./issue";
import { ValidationError } from "../../provider/errors";
import { exitCodeForSignal, forwardSignalsTo } from "../../service/pulumi/interrupts";

/**
 * Variables the child never sees. Credentials of another identity would shadow the
 * issued ones (as aws-vault clears them), and the lease table's keys (the passphrase,
 * AWSLEASE_HOME, the backend) would let the child decrypt the mount's root secret key.
 */
const WITHHELD = new Set([
  "AWS_ACCESS_KEY_ID",
  "AWS_SECRET_ACCESS_KEY",
  "AWS_SESSION_TOKEN",
  "AWS_SECURITY_TOKEN",
  "AWS_CREDENTIAL_FILE",
  "AWS_SHARED_CREDENTIALS_FILE",
  "AWS_DEFAULT_PROFILE",
  "AWS_PROFILE",
  "AWS_SDK_LOAD_CONFIG",
  "AWS_CREDENTIAL_EXPIRATION",
  "AWS_CONTAINER_AUTHORIZATION_TOKEN",
  "AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE",
  "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI",
  "AWS_CONTAINER_CREDENTIALS_FULL_URI",
  "AWS_WEB_IDENTITY_TOKEN_FILE",
  "AWS_ROLE_ARN",
  "AWS_ROLE_SESSION_NAME",
]);

/** awslease's own settings and every Pulumi variable (passphrase, backend, access token). */
const WITHHELD_PREFIXES = ["AWSLEASE_", "PULUMI_"];

/** The child's environment: the parent's ordinary variables plus the issued credentials. */
export function childEnvironment(
  parent: NodeJS.ProcessEnv,
  lease: { leaseId: string; accessKey: string; secretKey: string; sessionToken?: string; expiresAt: string },
  region: string,
): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(parent)) {
    if (WITHHELD.has(k) || WITHHELD_PREFIXES.some((p) => k.startsWith(p))) continue;
    env[k] = v;
  }
  Object.assign(env, {
    AWS_ACCESS_KEY_ID: lease.accessKey,
    AWS_SECRET_ACCESS_KEY: lease.secretKey,
    AWS_CREDENTIAL_EXPIRATION: lease.expiresAt,
    AWS_REGION: region,
    AWS_DEFAULT_REGION: region,
    AWSLEASE_EXEC: lease.leaseId,
  });
  if (lease.sessionToken) env.AWS_SESSION_TOKEN = lease.sessionToken;
  return env;
}

export const execCommand: CommandModule<GlobalArgs, IssueArgs & { "--"?: string[]; _: (string | number)[] }> = {
  command: "exec <role>",
  describe: "Run a command with fresh credentials, then revoke them",
  builder: (y) =>
    issueOptions(y)
      .usage("$0 exec <role> [options] -- <command> [args...]\n\nRun a command with fresh credentials, then revoke them")
      .parserConfiguration({ "populate--": true })
      .example("$0 exec deploy --ttl 15m -- aws s3 ls", "") as Argv<IssueArgs & { "--"?: string[]; _: (string | number)[] }>,
  handler: async (argv) => {
    const command = (argv["--"] ?? []).map(String);
    if (command.length === 0)
      throw new ValidationError([{ field: "command", reason: "give the command after --, e.g. awslease exec ROLE -- aws sts get-caller-identity" }]);
    if (process.env.AWSLEASE_EXEC) {
      throw new ValidationError([
        { field: "command", reason: `already inside awslease exec (lease ${process.env.AWSLEASE_EXEC}); nesting would shadow its credentials` },
      ]);
    }
    const { lease, region } = await issueFromArgs(argv);
    const env = childEnvironment(process.env, lease, region);
    let code: number;
    try {
      code = await new Promise<number>((resolve) => {
        stopProgress();
        const child = withUserUmask(() => spawn(command[0], command.slice(1), { env, stdio: "inherit" }));
        // While the child runs, signals are its business (it decides how to stop).
        forwardSignalsTo((sig) => child.kill(sig));
        child.on("error", (err) => {
          process.stderr.write(`awslease: error: cannot run ${command[0]}: ${err.message}\n`);
          resolve(127);
        });
        child.on("exit", (status, signal) => resolve(status ?? (signal ? exitCodeForSignal(signal) : 1)));
      });
    } finally {
      forwardSignalsTo(undefined);
      // Always revoke, whatever the child did.
      const { warnings } = await revokeOne(argv, lease.leaseId);
      for (const w of warnings) process.stderr.write(`awslease: warning: ${w}\n`);
    }
    process.exitCode = code;
  },
};
