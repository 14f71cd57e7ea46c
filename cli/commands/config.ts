// `awslease config write|read|rotate-root`: Vault's config/root and config/lease.
import type { CommandModule, Argv } from "yargs";
import { context, formatOption, print, type GlobalArgs } from "./common";
import { LIST_FORMATS } from "../output";
import { readStdinSecret } from "./secretInput";
import { localOnly } from "../serverClient";

interface WriteArgs extends GlobalArgs {
  "access-key"?: string;
  "secret-key"?: string;
  "secret-key-stdin"?: boolean;
  region?: string;
  "iam-endpoint"?: string;
  "sts-endpoint"?: string;
  "sts-region"?: string;
  "max-retries"?: number;
  "username-template"?: string;
  lease?: string;
  "lease-max"?: string;
}

const write: CommandModule<GlobalArgs, WriteArgs> = {
  command: "write",
  describe: "Set root credentials, region, endpoints and lease defaults (unset fields keep their value)",
  builder: (y: Argv<GlobalArgs>) =>
    y
      .option("access-key", { type: "string", describe: "Root access key id (omit with --secret-key to use the AWS SDK default chain)" })
      .option("secret-key", { type: "string", describe: "Root secret key (prefer --secret-key-stdin: argv is visible to other users)" })
      .option("secret-key-stdin", { type: "boolean", describe: "Read the root secret key from stdin (as docker login --password-stdin)" })
      .conflicts("secret-key", "secret-key-stdin")
      .option("region", { type: "string", describe: "AWS region (default AWS_REGION, AWS_DEFAULT_REGION, us-east-1)" })
      .option("iam-endpoint", { type: "string", describe: "Custom IAM endpoint URL" })
      .option("sts-endpoint", { type: "string", describe: "Custom STS endpoint URL" })
      .option("sts-region", { type: "string", describe: "STS signing region (only with --sts-endpoint)" })
      .option("max-retries", { type: "number", describe: "Retries of throttled/transient AWS errors (-1 = SDK default)" })
      .option("username-template", { type: "string", describe: "Vault-style username template" })
      .option("lease", { type: "string", describe: "Default TTL of iam_user leases", defaultDescription: "768h" })
      .option("lease-max", { type: "string", describe: "Maximum TTL of iam_user leases", defaultDescription: "768h" })
      .example("$0 config write --access-key AKIA... --secret-key-stdin --region eu-west-1 < secret.txt", "")
      .example("$0 config write --lease 1h --lease-max 24h", "Only change the lease defaults"),
  handler: async (argv) => {
    if (argv["secret-key"] !== undefined) {
      process.stderr.write("awslease: warning: --secret-key is visible to other users in the process list; prefer --secret-key-stdin\n");
    }
    localOnly("config write");
    const { writeConfig } = await import("../../service/mounts");
    const state = await writeConfig(context(argv), {
      accessKey: argv["access-key"],
      secretKey: argv["secret-key-stdin"] ? await readStdinSecret("secret-key-stdin") : argv["secret-key"],
      region: argv.region,
      iamEndpoint: argv["iam-endpoint"],
      stsEndpoint: argv["sts-endpoint"],
      stsRegion: argv["sts-region"],
      maxRetries: argv["max-retries"],
      usernameTemplate: argv["username-template"],
      lease: argv.lease,
      leaseMax: argv["lease-max"],
    });
    if (!argv.quiet) process.stderr.write(`awslease: mount "${state.config.settings.mount}" configured for account ${state.config.accountId}\n`);
  },
};

interface ReadArgs extends GlobalArgs {
  format: string;
}

const read: CommandModule<GlobalArgs, ReadArgs> = {
  command: "read",
  describe: "Show the mount's config (never the secret key)",
  builder: (y) => y.option("format", formatOption(LIST_FORMATS)) as Argv<ReadArgs>,
  handler: async (argv) => {
    localOnly("config read");
    const { requireMount, configView } = await import("../../service/mounts");
    const { formatKeyValues } = await import("../output");
    const { config } = await requireMount(context(argv));
    print(formatKeyValues(configView(config), argv.format as "table" | "json"));
  },
};

const rotateRoot: CommandModule<GlobalArgs, GlobalArgs> = {
  command: "rotate-root",
  describe: "Replace the root access key with a new one only awslease knows",
  handler: async (argv) => {
    localOnly("config rotate-root");
    const { rotateRoot: rotate } = await import("../../service/mounts");
    const state = await rotate(context(argv));
    // Like Vault, show the new access key id (never the secret).
    print(`access_key    ${state.config.settings.accessKey}`);
  },
};

export const configCommand: CommandModule<GlobalArgs, GlobalArgs> = {
  command: "config <command>",
  describe: "Engine config: root credentials, region, endpoints, lease defaults",
  builder: (y) => y.command(write).command(read).command(rotateRoot).demandCommand(1),
  handler: () => {},
};
