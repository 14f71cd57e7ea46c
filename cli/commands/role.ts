// `awslease role write|read|list|delete`: Vault's roles/:name.
import type { CommandModule, Argv } from "yargs";
import { context, formatOption, print, readInputFile, type GlobalArgs } from "./common";
import { LIST_FORMATS } from "../output";
import type { RoleInput } from "../../provider/validation";

interface WriteArgs extends GlobalArgs {
  name: string;
  file?: string;
  "credential-type"?: string;
  "policy-document"?: string;
  "policy-arns"?: string;
  "role-arns"?: string;
  "iam-groups"?: string;
  "iam-tags"?: string;
  "default-sts-ttl"?: string;
  "max-sts-ttl"?: string;
  "user-path"?: string;
  "permissions-boundary-arn"?: string;
  "mfa-serial-number"?: string;
  "session-tags"?: string;
  "external-id"?: string;
}

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
      .option("credential-type", { type: "string", choices: ["iam_user", "assumed_role", "federation_token", "session_token"] })
      .option("policy-document", { type: "string", describe: "IAM policy JSON, @file, or @- for stdin" })
      .option("policy-arns", { type: "string", describe: "Managed policy ARNs, comma-separated" })
      .option("role-arns", { type: "string", describe: "assumed_role: role ARNs that may be assumed" })
      .option("iam-groups", { type: "string", describe: "IAM groups (iam_user: membership; STS: their policies join the session policy)" })
      .option("iam-tags", { type: "string", describe: "iam_user: tags k=v,..." })
      .option("default-sts-ttl", { type: "string", describe: "STS types: default TTL" })
      .option("max-sts-ttl", { type: "string", describe: "STS types: maximum TTL" })
      .option("user-path", { type: "string", describe: "iam_user: path of created users" })
      .option("permissions-boundary-arn", { type: "string", describe: "iam_user: permissions boundary policy ARN" })
      .option("mfa-serial-number", { type: "string", describe: "session_token: MFA device; --mfa-code then required at issue" })
      .option("session-tags", { type: "string", describe: "assumed_role: session tags k=v,..." })
      .option("external-id", { type: "string", describe: "assumed_role: external id" })
      .example(`$0 role write deploy --credential-type iam_user --policy-document @policy.json`, "")
      .example(`$0 role write ci -f role.json`, "Vault role JSON") as Argv<WriteArgs>,
  handler: async (argv) => {
    const { writeRole } = await import("../mounts");
    const { roleFromVaultJson, parseList, parseKeyValueList } = await import("../../provider/validation");
    const { ValidationError } = await import("../../provider/errors");
    let input: Partial<RoleInput> = {};
    if (argv.file) {
      const text = readInputFile(argv.file, "--file", "role JSON");
      let json: Record<string, unknown>;
      try {
        json = JSON.parse(text);
      } catch (err) {
        throw new ValidationError([{ field: "--file", reason: `role JSON in ${argv.file === "-" ? "stdin" : argv.file} is not JSON: ${(err as Error).message}` }]);
      }
      input = roleFromVaultJson(json);
    }
    const flags: Partial<RoleInput> = {
      credentialType: argv["credential-type"],
      policyDocument: readPolicyDocument(argv["policy-document"]),
      policyArns: argv["policy-arns"] !== undefined ? parseList(argv["policy-arns"]) : undefined,
      roleArns: argv["role-arns"] !== undefined ? parseList(argv["role-arns"]) : undefined,
      iamGroups: argv["iam-groups"] !== undefined ? parseList(argv["iam-groups"]) : undefined,
      iamTags: argv["iam-tags"] !== undefined ? parseKeyValueList(argv["iam-tags"], "iamTags") : undefined,
      defaultStsTtl: argv["default-sts-ttl"],
      maxStsTtl: argv["max-sts-ttl"],
      userPath: argv["user-path"],
      permissionsBoundaryArn: argv["permissions-boundary-arn"],
      mfaSerialNumber: argv["mfa-serial-number"],
      sessionTags: argv["session-tags"] !== undefined ? parseKeyValueList(argv["session-tags"], "sessionTags") : undefined,
      externalId: argv["external-id"],
    };
    for (const [k, v] of Object.entries(flags)) if (v !== undefined) (input as Record<string, unknown>)[k] = v;
    await writeRole(context(argv), argv.name, input);
    if (!argv.quiet) process.stderr.write(`awslease: role "${argv.name}" written\n`);
  },
};

interface NameArgs extends GlobalArgs {
  name: string;
  format: string;
}

function roleView(settings: import("../../provider/types").RoleSettings): Record<string, unknown> {
  const { formatDuration } = require("../../provider/duration") as typeof import("../../provider/duration");
  return {
    credential_type: settings.credentialType,
    policy_document: settings.policyDocument ?? null,
    policy_arns: settings.policyArns,
    role_arns: settings.roleArns,
    iam_groups: settings.iamGroups,
    iam_tags: settings.iamTags,
    default_sts_ttl: settings.defaultStsTtl ? formatDuration(settings.defaultStsTtl) : null,
    max_sts_ttl: settings.maxStsTtl ? formatDuration(settings.maxStsTtl) : null,
    user_path: settings.credentialType === "iam_user" ? settings.userPath : null,
    permissions_boundary_arn: settings.permissionsBoundaryArn ?? null,
    mfa_serial_number: settings.mfaSerialNumber ?? null,
    session_tags: settings.sessionTags,
    external_id: settings.externalId ?? null,
  };
}

const read: CommandModule<GlobalArgs, NameArgs> = {
  command: "read <name>",
  describe: "Show a role",
  builder: (y) => y.positional("name", { type: "string", demandOption: true }).option("format", formatOption(LIST_FORMATS)) as Argv<NameArgs>,
  handler: async (argv) => {
    const { requireMount } = await import("../mounts");
    const { formatKeyValues } = await import("../output");
    const { ValidationError } = await import("../../provider/errors");
    const mount = await requireMount(context(argv));
    const role = mount.roles[argv.name];
    if (!role) throw new ValidationError([{ field: "name", reason: `no such role "${argv.name}"` }]);
    print(formatKeyValues(roleView(role.settings), argv.format as "table" | "json"));
  },
};

const list: CommandModule<GlobalArgs, GlobalArgs & { format: string }> = {
  command: "list",
  describe: "List the mount's roles",
  builder: (y) => y.option("format", formatOption(LIST_FORMATS)) as Argv<GlobalArgs & { format: string }>,
  handler: async (argv) => {
    const { readMount } = await import("../mounts");
    const { formatNameList } = await import("../output");
    const mount = await readMount(context(argv));
    print(formatNameList(Object.keys(mount?.roles ?? {}).sort(), argv.format as "table" | "json", "Keys"));
  },
};

const del: CommandModule<GlobalArgs, NameArgs> = {
  command: "delete <name>",
  describe: "Delete a role (its existing leases stay valid until revoked, as in Vault)",
  builder: (y) => y.positional("name", { type: "string", demandOption: true }) as Argv<NameArgs>,
  handler: async (argv) => {
    const { deleteRole } = await import("../mounts");
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
