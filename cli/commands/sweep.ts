// `awslease sweep`: revoke expired leases; delete orphaned IAM users this mount tagged.
import type { CommandModule, Argv } from "yargs";
import { context, formatOption, parallelFlag, parallelOption, print, type GlobalArgs } from "./common";
import { LIST_FORMATS, structured } from "../output";
import { localOnly } from "../serverClient";

type SweepArgs = GlobalArgs & { "dry-run"?: boolean; "min-age"?: string; parallel?: number; format: string };

export const sweepCommand: CommandModule<GlobalArgs, SweepArgs> = {
  command: "sweep",
  describe: "Revoke expired leases and remove orphaned IAM users tagged by this mount",
  builder: (y) =>
    y
      .option("dry-run", { type: "boolean", describe: "Only show what would be removed" })
      .option("min-age", {
        type: "string",
        describe: "Judge only IAM users at least this old (younger ones may belong to an issue still running); 0s to clean up at once",
        defaultDescription: "5m",
      })
      .option("parallel", parallelFlag)
      .option("format", formatOption(LIST_FORMATS)) as Argv<SweepArgs>,
  handler: async (argv) => {
    localOnly("sweep");
    const { sweep } = await import("../../service/sweep");
    const { EngineError } = await import("../../provider/errors");
    const { parseDuration } = await import("../../provider/duration");
    const minAgeMs = argv["min-age"] === undefined ? undefined : parseDuration(argv["min-age"], "--min-age") * 1000;
    const result = await sweep(context(argv), { dryRun: !!argv["dry-run"], minAgeMs, parallel: parallelOption(argv.parallel) });
    const verb = argv["dry-run"] ? "would revoke" : "revoked";
    if (argv.format !== "table") {
      print(
        structured(
          {
            dry_run: !!argv["dry-run"],
            expired_leases: result.expiredLeases,
            abandoned_issues: result.abandonedIssues,
            orphaned_users: result.orphanedUsers,
            pruned_denies: result.prunedDenies,
            failures: result.failures,
          },
          argv.format,
        ),
      );
    } else {
      const lines = [
        ...result.expiredLeases.map((id) => `${verb} expired lease  ${id}`),
        ...result.abandonedIssues.map((s) => `${verb} unfinished issue  ${s}`),
        ...result.orphanedUsers.map((u) => `${verb} orphaned user  ${u}`),
        ...result.prunedDenies.map((d) => `dropped expired session denies  ${d}`),
      ];
      print(lines.length ? lines.join("\n") : "Nothing to sweep.");
    }
    if (result.failures.length) throw new EngineError(`sweep: ${result.failures.length} item(s) failed: ${result.failures[0]}`);
  },
};
