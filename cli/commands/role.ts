// `awslease role write|read|list|delete`: Vault's roles/:name.
import type { CommandModule, Argv, Options } from "yargs";
import { ROLE_FIELDS, vaultRoleView } from "../../provider/roleFields";
import { CREDENTIAL_TYPES } from "../../provider/types";
import { context, fieldOption, formatOption, print, readInputFile, remote, type GlobalArgs } from "./common";
import { localOnly } from "../serverClient";
import { LIST_FORMATS, type ListFormat } from "../output";
import type { RoleInput } from "../../provider/validation";

/** One string flag per role field (ROLE_FIELDS), e.g. `--policy-arns`. */
type WriteArgs = GlobalArgs & { name: string; file?: string } & Record<string, string | undefined>;

/** `--policy-document JSON|@file|@-` (stdin). */
function readPolicyDocument(value: string | undefined): string | undefined {
  if (value === undefined) return undefined;
  return value.startsWith("@") ? readInputFile(value.slice(1), "--policy-document", "policy document") : value;
}

const write: CommandModule<GlobalArgs, WriteArgs> = {
  command: "write <name>",
  describe: "Create or update a role (fields not given keep their value)",
  builder: (y: Argv<GlobalArgs>) =>
    y
      .positional("name", { type: "string", demandOption: true, describe: "Role name" })
      .option("file", { alias: "f", type: "string", describe: "Vault role JSON (snake_case fields, as `vault write aws/roles/x - < role.json`)" })
      .options(roleFieldOptions())
      .example(`$0 role write deploy --credential-type iam_user --policy-document @policy.json`, "")
      .example(`$0 role write ci -f role.json`, "Vault role JSON") as Argv<WriteArgs>,
  handler: async (argv) => {
    localOnly("role write");
    const { writeRole } = await import("../../service/mounts");
    const { roleFromVaultJson, parseList, parseKeyValueList } = await import("../../provider/validation");
    const { ValidationError } = await import("../../provider/errors");
    let input: Partial<RoleInput> = {};
    if (argv.file) {
      const text = readInputFile(argv.file, "--file", "role JSON");
      let json: Record<string, unknown>;
      try {
        json = JSON.parse(text);
      } catch (err) {
        throw new ValidationError([
          { field: "--file", reason: `role JSON in ${argv.file === "-" ? "stdin" : argv.file} is not JSON: ${(err as Error).message}` },
        ]);
      }
      input = roleFromVaultJson(json);
    }
    const flags = roleInputFromFlags(argv, { parseList, parseKeyValueList });
    for (const [k, v] of Object.entries(flags)) if (v !== undefined) (input as Record<string, unknown>)[k] = v;
    await writeRole(context(argv), argv.name, input);
    if (!argv.quiet) process.stderr.write(`awslease: role "${argv.name}" written\n`);
  },
};

interface NameArgs extends GlobalArgs {
  name: string;
  format: string;
  field?: string;
}

/** The `role write` flags, from ROLE_FIELDS. */
function roleFieldOptions(): Record<string, Options> {
  return Object.fromEntries(
    ROLE_FIELDS.map((f) => [
      f.flag,
      { type: "string", describe: f.description, ...(f.key === "credentialType" ? { choices: [...CREDENTIAL_TYPES] } : {}) } satisfies Options,
    ]),
  );
}

/** The fields given as flags, each parsed by its kind; fields not given are left out. */
function roleInputFromFlags(
  argv: WriteArgs,
  parse: { parseList: (v: string) => string[]; parseKeyValueList: (v: string, field: string) => Record<string, string> },
): Partial<RoleInput> {
  const input: Record<string, unknown> = {};
  for (const f of ROLE_FIELDS) {
    const raw = argv[f.flag];
    if (raw === undefined) continue;
    if (f.kind === "list") input[f.key] = parse.parseList(raw);
    else if (f.kind === "kv") input[f.key] = parse.parseKeyValueList(raw, f.key);
    else if (f.kind === "policy") input[f.key] = readPolicyDocument(raw);
    else input[f.key] = raw;
  }
  return input as Partial<RoleInput>;
}

const read: CommandModule<GlobalArgs, NameArgs> = {
  command: "read <name>",
  describe: "Show a role",
  builder: (y) =>
    y.positional("name", { type: "string", demandOption: true }).option("format", formatOption(LIST_FORMATS)).option("field", fieldOption) as Argv<NameArgs>,
  handler: async (argv) => {
    const { formatField, formatKeyValues } = await import("../output");
    const server = remote();
    const view = server
      ? ((await server.readRole(context(argv).mount, argv.name))?.data ?? {})
      : vaultRoleView((await (await import("../../service/mounts")).readRole(context(argv), argv.name)).settings);
    print(argv.field !== undefined ? formatField(view, argv.field) : formatKeyValues(view, argv.format as ListFormat));
  },
};

const list: CommandModule<GlobalArgs, GlobalArgs & { format: string }> = {
  command: "list",
  describe: "List the mount's roles",
  builder: (y) => y.option("format", formatOption(LIST_FORMATS)) as Argv<GlobalArgs & { format: string }>,
  handler: async (argv) => {
    const { formatNameList } = await import("../output");
    const server = remote();
    const readLocally = async () => Object.keys((await (await import("../../service/mounts")).readMount(context(argv)))?.roles ?? {});
    const names = server ? await server.listRoles(context(argv).mount) : await readLocally();
    print(formatNameList(names.sort(), argv.format as ListFormat, "Keys"));
  },
};

const del: CommandModule<GlobalArgs, NameArgs> = {
  command: "delete <name>",
  describe: "Delete a role (its existing leases stay valid until revoked, as in Vault)",
  builder: (y) => y.positional("name", { type: "string", demandOption: true }) as Argv<NameArgs>,
  handler: async (argv) => {
    localOnly("role delete");
    const { deleteRole } = await import("../../service/mounts");
    await deleteRole(context(argv), argv.name);
    if (!argv.quiet) process.stderr.write(`awslease: role "${argv.name}" deleted\n`);
  },
};

export const roleCommand: CommandModule<GlobalArgs, GlobalArgs> = {
  command: "role <command>",
  describe: "Roles: what credentials a lease gets (Vault aws/roles/:name)",
  builder: (y) => y.command(write).command(read).command(list).command(del).demandCommand(1),
  handler: () => {},
};
