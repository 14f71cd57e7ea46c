// `awslease lease list|lookup|renew|revoke`: Vault's lease commands over the lease table.
import type { CommandModule, Argv } from "yargs";
import { context, fieldOption, formatOption, parallelFlag, parallelOption, print, remote, revokeOne, type GlobalArgs } from "./common";
import { localOnly } from "../serverClient";
import { LIST_FORMATS, structured, type ListFormat } from "../output";
import { ValidationError } from "../../provider/errors";
import type { UnreadableStack } from "../../service/ports";
import { leaseSummary, type LeaseSummary } from "../../service/leaseRecord";

/** One lease as `lease lookup` shows it, here or through the server. */
async function lookupOne(argv: GlobalArgs, leaseId: string): Promise<LeaseSummary> {
  const server = remote();
  if (server) return server.lookup(leaseId);
  const { lookup } = await import("../../service/leases");
  const ctx = context(argv);
  return leaseSummary(await lookup(ctx, leaseId), ctx.now());
}

/** One stderr line per lease stack whose state cannot be read; the other leases are still listed. */
function warnUnreadable(unreadable: UnreadableStack[]): void {
  for (const u of unreadable) process.stderr.write(`awslease: warning: lease stack ${u.stackName} is unreadable and left out: ${u.error}\n`);
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
    const { formatLeaseList } = await import("../output");
    const ctx = context(argv);
    const server = remote();
    if (server) {
      // Through the server: the ids its token may list, each looked up (Vault's API has no bulk read).
      const ids = (await server.leaseIds(`${ctx.mount}/`)).filter((id) => !argv.prefix || id.startsWith(argv.prefix));
      const rows = (await Promise.all(ids.map((id) => server.lookup(id)))).filter((r) => !argv.expired || r.expired);
      print(formatLeaseList(rows, argv.format as ListFormat));
      return;
    }
    const { list: listLeases } = await import("../../service/leases");
    const { records, unreadable, unfinished } = await listLeases(ctx, { prefix: argv.prefix, expired: argv.expired });
    warnUnreadable(unreadable);
    if (unfinished.length > 0 && !argv.quiet && argv.format !== "table") {
      process.stderr.write(
        `awslease: note: ${unfinished.length} lease stack(s) without a record (an issue still running, or one that was killed): ` +
          `\`awslease sweep\` cleans up those older than 5m\n`,
      );
    }
    const rows = unfinished.map((u) => ({ ...u, mount: ctx.mount }));
    print(
      formatLeaseList(
        records.map((r) => leaseSummary(r, ctx.now())),
        argv.format as ListFormat,
        new Date(),
        rows,
      ),
    );
  },
};

type IdArgs = GlobalArgs & { "lease-id": string; format: string };

const lookup: CommandModule<GlobalArgs, IdArgs & { field?: string }> = {
  command: "lookup <lease-id>",
  describe: "Show one lease",
  builder: (y) =>
    y.positional("lease-id", { type: "string", demandOption: true }).option("format", formatOption(LIST_FORMATS)).option("field", fieldOption) as Argv<
      IdArgs & { field?: string }
    >,
  handler: async (argv) => {
    const { formatField, formatLookup, lookupBody } = await import("../output");
    const row = await lookupOne(argv, argv["lease-id"]);
    print(argv.field !== undefined ? formatField(lookupBody(row), argv.field) : formatLookup(row, argv.format as ListFormat));
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
    const { formatLookup } = await import("../output");
    const server = remote();
    const renewLocally = async () => (await import("../../service/leases")).renew(context(argv), argv["lease-id"], argv.increment);
    const { warnings } = server ? await server.renew(argv["lease-id"], argv.increment) : await renewLocally();
    for (const w of warnings) process.stderr.write(`awslease: warning: ${w}\n`);
    print(formatLookup(await lookupOne(argv, argv["lease-id"]), argv.format as ListFormat));
  },
};

type RevokeArgs = GlobalArgs & { "lease-id"?: string; prefix?: string; "ignore-missing"?: boolean; "break-lock"?: boolean; parallel?: number; format: string };

const revoke: CommandModule<GlobalArgs, RevokeArgs> = {
  command: "revoke [lease-id]",
  describe: "Revoke a lease (or all under --prefix): deletes the IAM user; STS leases are dropped",
  builder: (y) =>
    y
      .positional("lease-id", { type: "string" })
      .option("prefix", { type: "string", describe: "Revoke every lease whose id starts with this" })
      .option("ignore-missing", { type: "boolean", describe: "An unknown lease id is not an error (idempotent cleanup steps)" })
      .option("break-lock", { type: "boolean", describe: "Break the lease stack's lock even if its owner may be alive (a run on a lost machine)" })
      .option("parallel", parallelFlag)
      .option("format", formatOption(LIST_FORMATS))
      .check((a) => {
        if (!a["lease-id"] === !a.prefix) throw new ValidationError([{ field: "lease-id", reason: "give either a lease id or --prefix" }]);
        return true;
      }) as Argv<RevokeArgs>,
  handler: async (argv) => {
    const { revokeByPrefix } = await import("../../service/leases");
    const { EngineError } = await import("../../provider/errors");
    const ctx = context(argv);
    const server = remote();
    const opts = { ignoreMissing: argv["ignore-missing"], breakLock: argv["break-lock"] };
    const report = (id: string, outcome: keyof typeof REVOKE_OUTCOMES, warnings: string[]) => {
      if (!argv.quiet) process.stderr.write(`awslease: ${REVOKE_OUTCOMES[outcome]} ${id}\n`);
      // Always on stderr, also with --quiet: the credentials still work.
      for (const w of warnings) process.stderr.write(`awslease: warning: ${w}\n`);
    };
    if (!argv.prefix) {
      const id = argv["lease-id"] as string;
      const { outcome, warnings } = await revokeOne(argv, id, opts);
      report(id, outcome, warnings);
      if (argv.format !== "table") print(structured({ lease_id: id, outcome, warnings }, argv.format));
      return;
    }
    if (server) {
      // Vault's revoke-prefix (needs sudo on the path): all of them, or an error.
      await server.call("PUT", `sys/leases/revoke-prefix/${argv.prefix}`);
      if (!argv.quiet) process.stderr.write(`awslease: revoked every lease under ${argv.prefix}\n`);
      return;
    }
    const { results, unreadable } = await revokeByPrefix(ctx, argv.prefix, {
      ...opts,
      parallel: parallelOption(argv.parallel),
      onResult: (r) => {
        if (r.outcome === "failed") process.stderr.write(`awslease: error: ${r.error}\n`);
        else report(r.leaseId, r.outcome, r.warnings);
      },
    });
    // Unreadable stacks cannot be matched against the prefix: reported, and the run fails.
    warnUnreadable(unreadable);
    if (argv.format !== "table") {
      print(
        structured(
          results.map((r) => ({ lease_id: r.leaseId, outcome: r.outcome, warnings: r.warnings, ...(r.error ? { error: r.error } : {}) })),
          argv.format,
        ),
      );
    }
    const failed = results.filter((r) => r.outcome === "failed").length + unreadable.length;
    if (failed > 0) throw new EngineError(`${failed} of ${results.length + unreadable.length} leases could not be revoked (they stay listed)`);
  },
};

type LogArgs = GlobalArgs & { prefix?: string; format: string };

const log: CommandModule<GlobalArgs, LogArgs> = {
  command: "log",
  describe: "The mount's lease log: every lease issued, renewed and revoked, and by whom (kept after revoke; no secrets)",
  builder: (y) =>
    y.option("prefix", { type: "string", describe: "Only lease ids starting with this" }).option("format", formatOption(LIST_FORMATS)) as Argv<LogArgs>,
  handler: async (argv) => {
    localOnly("lease log");
    const { readLeaseEvents, leaseHistories } = await import("../../service/leaseLog");
    const { formatLeaseLog } = await import("../output");
    print(formatLeaseLog(leaseHistories(await readLeaseEvents(context(argv), { prefix: argv.prefix })), argv.format as ListFormat));
  },
};

const REVOKE_OUTCOMES = {
  revoked: "revoked",
  missing: "no such lease (ignored)",
  abandoned: "cleaned up the unfinished issue of",
} as const;

export const leaseCommand: CommandModule<GlobalArgs, GlobalArgs> = {
  command: "lease <command>",
  describe: "Leases: list, lookup, renew, revoke, log",
  builder: (y) => y.command(list).command(lookup).command(renew).command(revoke).command(log).demandCommand(1),
  handler: () => {},
};
