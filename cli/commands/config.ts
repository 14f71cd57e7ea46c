// `awslease config write|read|rotate-root`: Vault's config/root and config/lease.
import type { CommandModule, Argv } from "yargs";
import { context, fieldOption, formatOption, print, type GlobalArgs } from "./common";
import { LIST_FORMATS, type ListFormat } from "../output";
import { readStdinSecret } from "./secretInput";
import { localOnly } from "../serverClient";
import { CONFIG_FIELDS } from "../../provider/configFields";
import type { EngineConfigInput } from "../../provider/validation";

/** One flag per config field (CONFIG_FIELDS), plus --secret-key-stdin. */
type WriteArgs = GlobalArgs & { "secret-key-stdin"?: boolean } & Record<string, string | number | boolean | undefined>;

const DEFAULTS: Record<string, string> = { lease: "768h", "lease-max": "768h", "sts-revocation": "deny" };

const write: CommandModule<GlobalArgs, WriteArgs> = {
  command: "write",
  describe: "Set root credentials, region, endpoints and lease defaults (unset fields keep their value)",
  builder: (y: Argv<GlobalArgs>) =>
    y
      .options(
        Object.fromEntries(
          CONFIG_FIELDS.map((f) => [
            f.flag,
            {
              type: f.kind === "number" ? "number" : "string",
              describe: f.description,
              ...(DEFAULTS[f.flag] ? { defaultDescription: DEFAULTS[f.flag] } : {}),
            } as const,
          ]),
        ),
      )
      .option("secret-key-stdin", { type: "boolean", describe: "Read the root secret key from stdin (as docker login --password-stdin)" })
      .conflicts("secret-key", "secret-key-stdin")
      .example("$0 config write --access-key AKIA... --secret-key-stdin --region eu-west-1 < secret.txt", "")
      .example("$0 config write --lease 1h --lease-max 24h", "Only change the lease defaults") as Argv<WriteArgs>,
  handler: async (argv) => {
    if (argv["secret-key"] !== undefined) {
      process.stderr.write("awslease: warning: --secret-key is visible to other users in the process list; prefer --secret-key-stdin\n");
    }
    localOnly("config write");
    const { writeConfig } = await import("../../service/mounts");
    const input = Object.fromEntries(CONFIG_FIELDS.map((f) => [f.key, argv[f.flag]])) as EngineConfigInput;
    if (argv["secret-key-stdin"]) input.secretKey = await readStdinSecret("secret-key-stdin");
    const state = await writeConfig(context(argv), input);
    if (!argv.quiet) process.stderr.write(`awslease: mount "${state.config.settings.mount}" configured for account ${state.config.accountId}\n`);
  },
};

interface ReadArgs extends GlobalArgs {
  format: string;
  field?: string;
}

const read: CommandModule<GlobalArgs, ReadArgs> = {
  command: "read",
  describe: "Show the mount's config (never the secret key)",
  builder: (y) => y.option("format", formatOption(LIST_FORMATS)).option("field", fieldOption) as Argv<ReadArgs>,
  handler: async (argv) => {
    localOnly("config read");
    const { requireMount, configView } = await import("../../service/mounts");
    const { formatField, formatKeyValues } = await import("../output");
    const { config } = await requireMount(context(argv));
    const view = configView(config);
    print(argv.field !== undefined ? formatField(view, argv.field) : formatKeyValues(view, argv.format as ListFormat));
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
