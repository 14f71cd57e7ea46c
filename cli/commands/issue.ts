// `awslease issue ROLE`: one `pulumi up` of a new lease stack; prints the credentials.
import type { CommandModule, Argv } from "yargs";
import { context, formatOption, print, type GlobalArgs } from "./common";
import type { LeaseInput } from "../../provider/validation";
import type { IssueResult } from "../leases";
import { ISSUE_FORMATS } from "../output";


export interface IssueArgs extends GlobalArgs {
  role: string;
  ttl?: string;
  "role-arn"?: string;
  "role-session-name"?: string;
  "mfa-code"?: string;
  wait: boolean;
}

/** The issue flags, shared with `exec`. */
export function issueOptions<T>(y: Argv<T>) {
  return y
    .positional("role", { type: "string", demandOption: true, describe: "Role to issue credentials for" })
    .option("ttl", { type: "string", describe: "Lease TTL: 900, 90s, 15m, 1h30m (default: role/engine default)" })
    .option("role-arn", { type: "string", describe: "assumed_role: which role ARN to assume" })
    .option("role-session-name", { type: "string", describe: "assumed_role: session name" })
    .option("mfa-code", { type: "string", describe: "session_token with MFA: the current code" })
    .option("wait", { type: "boolean", default: true, describe: "Wait until new IAM user keys work (--no-wait to skip)" });
}

export function leaseInput(argv: IssueArgs): LeaseInput {
  return {
    ttl: argv.ttl,
    roleArn: argv["role-arn"],
    roleSessionName: argv["role-session-name"],
    mfaCode: argv["mfa-code"],
    waitUntilUsable: argv.wait,
  };
}

/** Issues the lease; its warnings go to stderr unless the output format shows them itself. */
export async function issueFromArgs(argv: IssueArgs, opts: { warningsInOutput?: boolean } = {}): Promise<IssueResult> {
  const { issue } = await import("../leases");
  const result = await issue(context(argv), argv.role, leaseInput(argv));
  if (!opts.warningsInOutput) for (const w of result.lease.warnings) process.stderr.write(`awslease: warning: ${w}\n`);
  return result;
}

/** Output options that cannot work are usage errors, found before anything is issued. */
function checkOutputOptions(format: string, profile: string | undefined, output: typeof import("../output")): void {
  const { ValidationError } = require("../../provider/validation") as typeof import("../../provider/validation");
  if (format === "github" && !process.env.GITHUB_ENV) {
    throw new ValidationError([{ field: "format", reason: "--format github needs $GITHUB_ENV (run inside GitHub Actions)" }]);
  }
  if (format === "ini") {
    const placeholder = { leaseId: "", credentialType: "iam_user" as const, accessKey: "", secretKey: "", issuedAt: "", expiresAt: "", leaseDuration: 0, renewable: false, warnings: [] };
    try {
      output.formatIssued(placeholder, "ini", { profile });
    } catch (err) {
      throw new ValidationError([{ field: "profile", reason: (err as Error).message.replace(/^--profile:\s*/, "") }]);
    }
  }
}

export const issueCommand: CommandModule<GlobalArgs, IssueArgs & { format: string; profile?: string }> = {
  command: "issue <role>",
  describe: "Issue credentials for a role (a new lease)",
  builder: (y) =>
    issueOptions(y)
      .option("format", formatOption(ISSUE_FORMATS))
      .option("profile", { type: "string", describe: "Profile name for --format ini", default: "awslease" })
      .example("$0 issue deploy --ttl 15m --format json", "")
      .example('eval "$($0 issue deploy --format env)"', "Credentials into this shell")
      .example("$0 issue deploy --format github", "In GitHub Actions: mask, then export to $GITHUB_ENV") as Argv<
      IssueArgs & { format: string; profile?: string }
    >,
  handler: async (argv) => {
    const output = await import("../output");
    const format = argv.format as import("../output").IssueFormat;
    checkOutputOptions(format, argv.profile, output);
    // table prints a WARNING! block and github ::warning:: lines; the others keep stdout machine-readable.
    const { lease, region } = await issueFromArgs(argv, { warningsInOutput: format === "table" || format === "github" });
    const view = { ...lease, region };
    try {
      print(format === "github" ? output.githubActions(view, process.env) : output.formatIssued(view, format, { profile: argv.profile }));
    } catch (err) {
      // Credentials nobody received must not stay valid: revoke before reporting.
      const { revoke } = await import("../leases");
      await revoke(context(argv), lease.leaseId, { ignoreMissing: true }).catch(() => undefined);
      throw err;
    }
  },
};
