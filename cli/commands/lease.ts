// `awslease lease list|lookup|renew|revoke`: Vault's lease commands over the lease table.
import type { CommandModule, Argv } from "yargs";
import { context, formatOption, print, type GlobalArgs } from "./common";
import { LIST_FORMATS } from "../output";
import type { LeaseRecord } from "../leases";
import { ValidationError } from "../../provider/validation";
import type { LeaseSummary } from "../output";

function summary(r: LeaseRecord): LeaseSummary {
  return {
    leaseId: r.leaseId,
    role: r.role,
    credentialType: r.credentialType,
    mount: r.mount,
    issuedAt: r.issuedAt,
    expiresAt: r.expiresAt,
    leaseDuration: r.leaseDuration,
    renewable: r.renewable,
    username: r.username,
    arn: r.arn,
    expired: Date.parse(r.expiresAt) <= Date.now(),
  };
}

type ListArgs = GlobalArgs & { prefix?: string; expired?: boolean; format: string };

const list: CommandModule<GlobalArgs, ListArgs> = {
  command: "list",
  describe: "List the mount's leases",
  builder: (y) =>
    y
      .option("prefix", { type: "string", describe: "Only lease ids starting with this (e.g. aws/creds/deploy)" })
      .option("expired", { type: "boolean", describe: "Only expired leases" })
      .option("format", formatOption(LIST_FORMATS)) as Argv<ListArgs>,
  handler: async (argv) => {
    const { list: listLeases } = await import("../leases");
    const { formatLeaseList } = await import("../output");
    const rows = await listLeases(context(argv), { prefix: argv.prefix, expired: argv.expired });
    print(formatLeaseList(rows.map(summary), argv.format as "table" | "json"));
  },
};

type IdArgs = GlobalArgs & { "lease-id": string; format: string };

const lookup: CommandModule<GlobalArgs, IdArgs> = {
  command: "lookup <lease-id>",
  describe: "Show one lease",
  builder: (y) => y.positional("lease-id", { type: "string", demandOption: true }).option("format", formatOption(LIST_FORMATS)) as Argv<IdArgs>,
  handler: async (argv) => {
    const { lookup: find } = await import("../leases");
    const { formatLookup } = await import("../output");
    print(formatLookup(summary(await find(context(argv), argv["lease-id"])), argv.format as "table" | "json"));
  },
};

type RenewArgs = IdArgs & { increment?: string };

const renew: CommandModule<GlobalArgs, RenewArgs> = {
  command: "renew <lease-id>",
  describe: "Extend an iam_user lease (its AWS-enforced expiry moves too)",
  builder: (y) =>
    y
      .positional("lease-id", { type: "string", demandOption: true })
      .option("increment", { type: "string", describe: "New TTL from now (default: the lease's TTL)" })
      .option("format", formatOption(LIST_FORMATS)) as Argv<RenewArgs>,
  handler: async (argv) => {
    const { renew: renewLease } = await import("../leases");
    const { formatLookup } = await import("../output");
    const ctx = context(argv);
    const renewed = await renewLease(ctx, argv["lease-id"], argv.increment);
    for (const w of renewed.warnings) process.stderr.write(`awslease: warning: ${w}\n`);
    const { lookup: find } = await import("../leases");
    print(formatLookup(summary(await find(ctx, argv["lease-id"])), argv.format as "table" | "json"));
  },
};

type RevokeArgs = GlobalArgs & { "lease-id"?: string; prefix?: string; "ignore-missing"?: boolean };

const revoke: CommandModule<GlobalArgs, RevokeArgs> = {
  command: "revoke [lease-id]",
  describe: "Revoke a lease (or all under --prefix): deletes the IAM user; STS leases are dropped",
  builder: (y) =>
    y
      .positional("lease-id", { type: "string" })
      .option("prefix", { type: "string", describe: "Revoke every lease whose id starts with this" })
      .option("ignore-missing", { type: "boolean", describe: "An unknown lease id is not an error (idempotent cleanup steps)" })
      .check((a) => {
        if (!a["lease-id"] === !a.prefix) throw new ValidationError([{ field: "lease-id", reason: "give either a lease id or --prefix" }]);
        return true;
      }) as Argv<RevokeArgs>,
  handler: async (argv) => {
    const { revoke: revokeLease, list: listLeases } = await import("../leases");
    const ctx = context(argv);
    const ids = argv.prefix ? (await listLeases(ctx, { prefix: argv.prefix })).map((l) => l.leaseId) : [argv["lease-id"] as string];
    const failed: string[] = [];
    for (const id of ids) {
      try {
        const outcome = await revokeLease(ctx, id, { ignoreMissing: argv["ignore-missing"] || !!argv.prefix });
        if (!argv.quiet) process.stderr.write(`awslease: ${outcome === "missing" ? "no such lease (ignored)" : "revoked"} ${id}\n`);
      } catch (err) {
        if (!argv.prefix) throw err;
        failed.push(id);
        process.stderr.write(`awslease: error: ${(err as Error).message}\n`);
      }
    }
    if (failed.length) {
      const { EngineError } = await import("../leases");
      throw new EngineError(`${failed.length} of ${ids.length} leases could not be revoked (they stay listed)`);
    }
  },
};

export const leaseCommand: CommandModule<GlobalArgs, GlobalArgs> = {
  command: "lease <command>",
  describe: "Leases: list, lookup, renew, revoke",
  builder: (y) => y.command(list).command(lookup).command(renew).command(revoke).demandCommand(1),
  handler: () => {},
};
