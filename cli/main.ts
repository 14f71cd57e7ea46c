// awslease CLI entry: global options and the command tree. Commands are loaded
// lazily so `--help` and usage errors never load the engine or the AWS SDK.
import yargs from "yargs";
import { reportError } from "./errors";
import { awsleaseVersion } from "../provider/version";
import { ownerOnlyFiles, stopProgress } from "./commands/common";
import { exitCodeForSignal, installInterruptHandlers, interruption } from "../service/pulumi/interrupts";
import { configCommand } from "./commands/config";
import { roleCommand } from "./commands/role";
import { staticCredsCommand, staticRoleCommand } from "./commands/staticRole";
import { issueCommand } from "./commands/issue";
import { execCommand } from "./commands/exec";
import { leaseCommand } from "./commands/lease";
import { sweepCommand } from "./commands/sweep";
import { credentialProcessCommand } from "./commands/credentialProcess";
import { serverCommand } from "./commands/server";

export function buildCli(args: string[]) {
  return yargs(args)
    .scriptName("awslease")
    .usage(
      "$0 <command> [options]\n\nShort-lived AWS credentials, Vault-style, on the Pulumi engine:\n" +
        "every issue is a `pulumi up` of a lease stack, every revoke a `pulumi destroy`.",
    )
    .option("mount", {
      type: "string",
      describe: "Engine instance (one per AWS account) [env AWSLEASE_MOUNT]",
      default: undefined,
      defaultDescription: "aws",
      global: true,
    })
    .option("backend", {
      type: "string",
      describe: "Pulumi state backend URL: the lease table [env AWSLEASE_BACKEND]",
      defaultDescription: "file://$AWSLEASE_HOME/state",
      global: true,
    })
    .option("home", { type: "string", describe: "Local files [env AWSLEASE_HOME]", defaultDescription: "~/.awslease", global: true })
    .option("secrets-provider", {
      type: "string",
      describe: "Pulumi secrets provider for new stacks (e.g. awskms://...); default: passphrase from PULUMI_CONFIG_PASSPHRASE(_FILE)",
      global: true,
    })
    .option("quiet", { alias: "q", type: "boolean", describe: "No progress lines on stderr", global: true })
    .option("debug", { type: "boolean", describe: "Engine output and stack traces on stderr", global: true })
    .command(configCommand)
    .command(roleCommand)
    .command(staticRoleCommand)
    .command(staticCredsCommand)
    .command(issueCommand)
    .command(execCommand)
    .command(credentialProcessCommand)
    .command(leaseCommand)
    .command(sweepCommand)
    .command(serverCommand)
    .completion("completion", "Print a bash or zsh completion script (add `source <(awslease completion)` to ~/.bashrc or ~/.zshrc)")
    .demandCommand(1, "name a command")
    .recommendCommands()
    .strict()
    .help()
    .alias("h", "help")
    .version(awsleaseVersion())
    .wrap(Math.min(110, process.stdout.columns || 100))
    .exitProcess(false)
    .fail((msg, err) => {
      // Usage errors: one line and exit 1 (yargs would print the whole help).
      throw err ?? Object.assign(new Error(`${msg} (see --help)`), { name: "YError" });
    });
}

/**
 * `--ttl -1h` would be read as the flags -1 and -h (help, exit 0). A value that looks
 * like a negative number is joined to its flag (`--ttl=-1h`), so the rules see it and
 * reject it. Vault's single-dash `-field` becomes `--field`. Nothing after `--` (exec's
 * command) is touched.
 */
export function joinNegativeValues(args: string[]): string[] {
  const out: string[] = [];
  for (let i = 0; i < args.length; i++) {
    const arg = args[i];
    if (arg === "--") return [...out, ...args.slice(i)];
    // Vault's single-dash -field (yargs would read -f -i -e -l -d).
    if (arg === "-field" || arg.startsWith("-field=")) {
      out.push(`-${arg}`);
      continue;
    }
    const next = args[i + 1];
    if (/^--[a-z][a-z-]*$/.test(arg) && next !== undefined && /^-\d/.test(next)) {
      out.push(`${arg}=${next}`);
      i++;
    } else {
      out.push(arg);
    }
  }
  return out;
}

export async function main(rawArgs: string[]): Promise<void> {
  const args = joinNegativeValues(rawArgs);
  const debug = args.includes("--debug");
  ownerOnlyFiles();
  installInterruptHandlers();
  try {
    await buildCli(args).parseAsync();
  } catch (err) {
    stopProgress();
    const signal = interruption();
    process.exitCode = signal ? exitCodeForSignal(signal) : reportError(err, debug);
    if (signal) process.stderr.write(`awslease: interrupted (${signal}): ${(err as Error).message?.split("\n")[0] ?? ""}\n`);
    return;
  }
  stopProgress();
  if (process.exitCode === undefined) process.exitCode = 0;
}
