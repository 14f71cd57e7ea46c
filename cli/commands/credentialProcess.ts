// `awslease credential-process ROLE`: the AWS CLI/SDK `credential_process` hook. Every
// `aws ...` call runs it, so it hands out a live lease of the role (and --session)
// while it has more than the refresh window left, and issues a new one otherwise.
import type { CommandModule, Argv } from "yargs";
import { print, type GlobalArgs } from "./common";
import { issueFromArgs, issueOptions, reuseOptions, type IssueArgs, type ReuseArgs } from "./issue";

type Args = IssueArgs & ReuseArgs;

export const credentialProcessCommand: CommandModule<GlobalArgs, Args> = {
  command: "credential-process <role>",
  describe: "For credential_process in ~/.aws/config: reuses a live lease of the role, issues a new one near its expiry",
  builder: (y) =>
    reuseOptions(issueOptions(y)).example(
      "[profile deploy]\ncredential_process = awslease credential-process deploy --ttl 1h --quiet",
      "~/.aws/config",
    ) as Argv<Args>,
  handler: async (argv) => {
    const { formatIssued } = await import("../output");
    const { lease, region } = await issueFromArgs(argv, { reuse: "credential-process" });
    print(formatIssued({ ...lease, region }, "credential-process"));
  },
};
