// `awslease issue ROLE`: one `pulumi up` of a new lease stack; prints the credentials.
import type { CommandModule, Argv } from "yargs";
import { context, fieldOption, formatOption, print, remote, revokeOne, shellOption, type GlobalArgs } from "./common";
import type { LeaseInput } from "../../provider/validation";
import type { IssueResult } from "../../service/leases";
import { ISSUE_FORMATS } from "../output";
import { ValidationError } from "../../provider/errors";

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

/** The reuse flags of `issue --reuse` and `credential-process`. */
export interface ReuseArgs {
  session?: string;
  "refresh-window"?: string;
}

export function reuseOptions<T>(y: Argv<T>) {
  return y
    .option("session", { type: "string", describe: "Reuse key beside the role: callers with another session name get their own lease" })
    .option("refresh-window", {
      type: "string",
      describe: "Reuse a lease while it has more than this left (env AWSLEASE_REFRESH_WINDOW)",
      defaultDescription: "15m",
    });
}

/**
 * Issues the lease (or with reuse, hands out a live one); its warnings go to stderr
 * unless the output format shows them itself.
 */
export async function issueFromArgs(
  argv: IssueArgs & ReuseArgs,
  opts: { warningsInOutput?: boolean; reuse?: "cli" | "credential-process" } = {},
): Promise<IssueResult & { reused?: boolean }> {
  const ctx = context(argv);
  const server = remote();
  let result: IssueResult & { reused?: boolean };
  if (server) {
    const window = argv["refresh-window"] ?? process.env.AWSLEASE_REFRESH_WINDOW;
    const reuse = opts.reuse ? { session: argv.session ?? "", refreshWindow: window || undefined } : undefined;
    const issued = await server.issue(ctx.mount, argv.role, leaseInput(argv), reuse);
    if (issued.reused) ctx.progress(`awslease: reusing ${issued.lease.leaseId} (expires ${issued.lease.expiresAt})`);
    result = { lease: issued.lease, region: issued.region ?? "", reused: issued.reused };
  } else if (opts.reuse) {
    const { issueOrReuse, DEFAULT_REFRESH_WINDOW_SECONDS } = await import("../../service/reuse");
    const { parseDuration } = await import("../../provider/duration");
    const window = argv["refresh-window"] ?? process.env.AWSLEASE_REFRESH_WINDOW;
    const reuse = await issueOrReuse(ctx, argv.role, leaseInput(argv), {
      session: argv.session,
      refreshWindowSeconds: window === undefined || window === "" ? DEFAULT_REFRESH_WINDOW_SECONDS : parseDuration(window, "--refresh-window"),
      by: opts.reuse,
    });
    for (const w of reuse.warnings) process.stderr.write(`awslease: warning: ${w}\n`);
    if (reuse.reused) ctx.progress(`awslease: reusing ${reuse.lease.leaseId} (expires ${reuse.lease.expiresAt})`);
    for (const id of reuse.replaced) ctx.progress(`awslease: revoked ${id} (replaced)`);
    result = reuse;
  } else {
    const { issue } = await import("../../service/leases");
    result = await issue(ctx, argv.role, leaseInput(argv));
  }
  if (!opts.warningsInOutput) for (const w of result.lease.warnings) process.stderr.write(`awslease: warning: ${w}\n`);
  return result;
}

/** Output options that cannot work are usage errors, found before anything is issued. */
function checkOutputOptions(format: string, profile: string | undefined, output: typeof import("../output")): void {
  const { ValidationError } = require("../../provider/errors") as typeof import("../../provider/errors");
  if (format === "github" && !process.env.GITHUB_ENV) {
    throw new ValidationError([{ field: "format", reason: "--format github needs $GITHUB_ENV (run inside GitHub Actions)" }]);
  }
  if (format === "ini") {
    const placeholder = {
      leaseId: "",
      credentialType: "iam_user" as const,
      accessKey: "",
      secretKey: "",
      issuedAt: "",
      expiresAt: "",
      leaseDuration: 0,
      renewable: false,
      warnings: [],
    };
    try {
      output.formatIssued(placeholder, "ini", { profile });
    } catch (err) {
      throw new ValidationError([{ field: "profile", reason: (err as Error).message.replace(/^--profile:\s*/, "") }]);
    }
  }
}

type IssueCommandArgs = IssueArgs & ReuseArgs & { format: string; profile?: string; reuse?: boolean; field?: string; shell: string };

export const issueCommand: CommandModule<GlobalArgs, IssueCommandArgs> = {
  command: "issue <role>",
  describe: "Issue credentials for a role (a new lease)",
  builder: (y) =>
    reuseOptions(issueOptions(y))
      .option("format", formatOption(ISSUE_FORMATS))
      .option("profile", { type: "string", describe: "Profile name for --format ini", default: "awslease" })
      .option("shell", shellOption)
      .option("field", fieldOption)
      .option("reuse", {
        type: "boolean",
        describe: "Hand out a live lease of this role (and --session) issued with --reuse, if it has more than --refresh-window left",
      })
      .check((a) => {
        for (const flag of ["session", "refresh-window"] as const) {
          if (a[flag] !== undefined && !a.reuse) throw new ValidationError([{ field: `--${flag}`, reason: "only goes with --reuse" }]);
        }
        return true;
      })
      .example("$0 issue deploy --ttl 15m --format json", "")
      .example("$0 issue deploy --format env --shell fish | source", "fish (or --shell powershell | Invoke-Expression)")
      .example('eval "$($0 issue deploy --format env)"', "Credentials into this shell")
      .example("$0 issue deploy --format github", "In GitHub Actions: mask, then export to $GITHUB_ENV")
      .example("$0 issue deploy --reuse --session laptop --format env", "The same lease on every call until 15m before its expiry") as Argv<IssueCommandArgs>,
  handler: async (argv) => {
    const output = await import("../output");
    const format = argv.format as import("../output").IssueFormat;
    checkOutputOptions(format, argv.profile, output);
    // table prints a WARNING! block and github ::warning:: lines; the others keep stdout machine-readable.
    const { lease, region, reused } = await issueFromArgs(argv, {
      warningsInOutput: argv.field === undefined && (format === "table" || format === "github"),
      reuse: argv.reuse ? "cli" : undefined,
    });
    const view = { ...lease, region };
    try {
      if (argv.field !== undefined) print(output.formatField(output.vaultSecretBody(view), argv.field));
      else
        print(
          format === "github"
            ? output.githubActions(view, process.env)
            : output.formatIssued(view, format, { profile: argv.profile, shell: argv.shell as import("../output").Shell }),
        );
    } catch (err) {
      // Credentials nobody received must not stay valid: revoke before reporting
      // (not a reused lease: others hold it).
      if (reused) throw err;
      await revokeOne(argv, lease.leaseId, { ignoreMissing: true }).catch(() => undefined);
      throw err;
    }
  },
};
