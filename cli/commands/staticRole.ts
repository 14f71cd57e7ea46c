// `awslease static-role write|read|list|delete|rotate` and `awslease static-creds`:
// Vault's static-roles/:name and static-creds/:name (see service/staticRoles.ts).
import type { CommandModule, Argv, Options } from "yargs";
import { STATIC_ROLE_FIELDS, vaultStaticRoleView } from "../../provider/roleFields";
import { context, fieldOption, formatOption, print, remote, shellOption, type GlobalArgs } from "./common";
import { localOnly } from "../serverClient";
import { ISSUE_FORMATS, LIST_FORMATS, structured, type ListFormat } from "../output";
import type { StaticRoleInput } from "../../provider/validation";

type WriteArgs = GlobalArgs & { name: string } & Partial<Record<(typeof STATIC_ROLE_FIELDS)[number]["flag"], string>>;
interface NameArgs extends GlobalArgs {
  name: string;
  format: string;
}

const write: CommandModule<GlobalArgs, WriteArgs> = {
  command: "write <name>",
  describe: "Create a static role (its first key is made now) or change its rotation period",
  builder: (y: Argv<GlobalArgs>) =>
    y
      .positional("name", { type: "string", demandOption: true, describe: "Static role name" })
      .options(
        Object.fromEntries(STATIC_ROLE_FIELDS.map((f) => [f.flag, { type: "string", describe: f.description } satisfies Options])) as Record<string, Options>,
      )
      .example("$0 static-role write deployer --username svc-deploy --rotation-period 24h", "") as unknown as Argv<WriteArgs>,
  handler: async (argv) => {
    localOnly("static-role write");
    const { writeStaticRole } = await import("../../service/staticRoles");
    const input: StaticRoleInput = {};
    for (const f of STATIC_ROLE_FIELDS) if (argv[f.flag] !== undefined) input[f.key] = argv[f.flag];
    const record = await writeStaticRole(context(argv), argv.name, input);
    if (!argv.quiet) process.stderr.write(`awslease: static role "${argv.name}" written (IAM user ${record.username}; next rotation ${record.expiration})\n`);
  },
};

const read: CommandModule<GlobalArgs, NameArgs> = {
  command: "read <name>",
  describe: "Show a static role (not its secret key: see static-creds)",
  builder: (y) => y.positional("name", { type: "string", demandOption: true }).option("format", formatOption(LIST_FORMATS)) as Argv<NameArgs>,
  handler: async (argv) => {
    const { formatKeyValues } = await import("../output");
    const server = remote();
    if (server) {
      print(formatKeyValues((await server.readStaticRole(context(argv).mount, argv.name))?.data ?? {}, argv.format as ListFormat));
      return;
    }
    const { readStaticRole } = await import("../../service/staticRoles");
    const record = await readStaticRole(context(argv), argv.name);
    const view = {
      ...vaultStaticRoleView(record),
      access_key: record.accessKey,
      rotated_at: record.rotatedAt,
      next_rotation: record.expiration,
      retired_key: record.retiredKey ?? null,
    };
    print(formatKeyValues(view, argv.format as ListFormat));
  },
};

const list: CommandModule<GlobalArgs, GlobalArgs & { format: string }> = {
  command: "list",
  describe: "List the mount's static roles",
  builder: (y) => y.option("format", formatOption(LIST_FORMATS)) as Argv<GlobalArgs & { format: string }>,
  handler: async (argv) => {
    const { formatNameList } = await import("../output");
    const server = remote();
    const names = server ? await server.listStaticRoles(context(argv).mount) : await (await import("../../service/staticRoles")).listStaticRoles(context(argv));
    print(formatNameList(names, argv.format as ListFormat, "Keys"));
  },
};

const del: CommandModule<GlobalArgs, NameArgs> = {
  command: "delete <name>",
  describe: "Delete a static role and the keys awslease made (the IAM user stays)",
  builder: (y) => y.positional("name", { type: "string", demandOption: true }) as Argv<NameArgs>,
  handler: async (argv) => {
    localOnly("static-role delete");
    const { deleteStaticRole } = await import("../../service/staticRoles");
    await deleteStaticRole(context(argv), argv.name);
    if (!argv.quiet) process.stderr.write(`awslease: static role "${argv.name}" deleted\n`);
  },
};

type RotateArgs = GlobalArgs & { name?: string; due?: boolean; format: string };

const rotate: CommandModule<GlobalArgs, RotateArgs> = {
  command: "rotate [name]",
  describe: "Rotate a static role's key now, or (--due) every role whose rotation is due, for cron or a scheduled CI job",
  builder: (y) =>
    y
      .positional("name", { type: "string", describe: "Static role name" })
      .option("due", { type: "boolean", describe: "Every static role of the mount whose rotation (or retired key's deletion) is due" })
      .option("format", formatOption(LIST_FORMATS))
      .check((a) => {
        if (!a.name === !a.due) throw new Error("give a static role name or --due (not both)");
        return true;
      })
      .example("$0 static-role rotate deployer", "")
      .example("$0 static-role rotate --due", "From cron or a scheduled workflow") as Argv<RotateArgs>,
  handler: async (argv) => {
    localOnly("static-role rotate");
    const service = await import("../../service/staticRoles");
    const ctx = context(argv);
    if (argv.name) {
      const record = await service.rotateStaticRole(ctx, argv.name);
      if (!argv.quiet)
        process.stderr.write(
          `awslease: static role "${argv.name}" rotated: new key ${record.accessKey}; the old one ${record.retiredKey ?? "(none)"} is deleted by the next run after a minute\n`,
        );
      return;
    }
    const results = await service.runDue(ctx);
    if (argv.format !== "table")
      print(
        structured(
          results.map((r) => ({ name: r.name, action: r.action, ok: !r.error, error: r.error ?? null })),
          argv.format,
        ),
      );
    else for (const r of results) process.stderr.write(`awslease: ${r.name}: ${r.action} ${r.error ? `failed: ${r.error}` : "done"}\n`);
    if (results.length === 0 && !argv.quiet && argv.format === "table") process.stderr.write("awslease: nothing is due\n");
    const failed = results.filter((r) => r.error);
    if (failed.length > 0) {
      const { EngineError } = await import("../../provider/errors");
      throw new EngineError(`${failed.length} of ${results.length} due static role(s) failed: ${failed.map((r) => r.name).join(", ")}`);
    }
  },
};

export const staticRoleCommand: CommandModule<GlobalArgs, GlobalArgs> = {
  command: "static-role <command>",
  describe: "Static roles: awslease owns an existing IAM user's key and rotates it (Vault static-roles/:name)",
  builder: (y) => y.command(write).command(read).command(list).command(del).command(rotate).demandCommand(1),
  handler: () => {},
};

type CredsArgs = GlobalArgs & { name: string; format: string; profile?: string; field?: string; shell: string };

export const staticCredsCommand: CommandModule<GlobalArgs, CredsArgs> = {
  command: "static-creds <name>",
  describe: "Print a static role's current key and its next rotation (Vault static-creds/:name)",
  builder: (y) =>
    y
      .positional("name", { type: "string", demandOption: true })
      .option("format", formatOption(ISSUE_FORMATS.filter((f) => f !== "github")))
      .option("profile", { type: "string", describe: "Profile name for --format ini", default: "awslease" })
      .option("shell", shellOption)
      .option("field", fieldOption)
      .example('eval "$($0 static-creds deployer --format env)"', "") as Argv<CredsArgs>,
  handler: async (argv) => {
    const output = await import("../output");
    const server = remote();
    const creds = server
      ? await server.staticCreds(context(argv).mount, argv.name)
      : await (await import("../../service/staticRoles")).staticCreds(context(argv), argv.name);
    if (argv.field !== undefined) print(output.formatField(output.staticCredsBody(creds), argv.field));
    else
      print(
        output.formatStaticCreds(creds, argv.format as Exclude<import("../output").IssueFormat, "github">, {
          profile: argv.profile,
          shell: argv.shell as import("../output").Shell,
        }),
      );
  },
};
