// The action's `post` step: runs whether the job succeeded, failed or was cancelled
// (action.yml's post-if: always()), and revokes the lease main issued. No lease id in
// the state means main never issued one: nothing to do.
import { leaseRoute, type LeaseRoute } from "./inputs";
import { command, groupLines, state, type RunnerEnv } from "./runner";
import { exitCodeFor, errorLine } from "../cli/errors";

/** Revokes one lease through the route; an already revoked lease is not an error. */
export async function revokeVia(route: LeaseRoute, leaseId: string): Promise<{ warnings: string[]; outcome: string }> {
  if (route.kind === "server") return { outcome: "revoked", ...(await route.client.revoke(leaseId)) };
  const { revoke } = require("../service/leases") as typeof import("../service/leases");
  return revoke(route.ctx, leaseId, { ignoreMissing: true, by: "github-action" });
}

export async function runPost(env: RunnerEnv = process.env, write: (text: string) => void = (t) => process.stdout.write(t)): Promise<number> {
  const { LEASE_STATE } = require("./main") as typeof import("./main");
  const leaseId = state(env, LEASE_STATE);
  if (!leaseId) {
    write("awslease: no lease to revoke (main issued none)\n");
    return 0;
  }
  return revokeLease(env, leaseId, write);
}

/** Revokes leaseId and logs the outcome; a failure leaves the lease listed for `lease revoke` or `sweep`. */
export async function revokeLease(env: RunnerEnv, leaseId: string, write: (text: string) => void, route?: LeaseRoute): Promise<number> {
  const progress: string[] = [];
  try {
    const result = await revokeVia(route ?? leaseRoute(env, (line) => progress.push(line)), leaseId);
    write(groupLines("awslease: engine", progress));
    write(result.outcome === "missing" ? `awslease: lease ${leaseId} was already revoked\n` : `awslease: revoked ${leaseId}\n`);
    for (const warning of result.warnings) write(`${command.warning(`awslease: ${warning}`)}\n`);
    return 0;
  } catch (err) {
    write(groupLines("awslease: engine", progress));
    write(
      `${command.error(`awslease: revoke of ${leaseId} failed: ${errorLine(err)}. The lease stays listed: revoke it with \`awslease lease revoke ${leaseId}\`, or \`awslease sweep\``)}\n`,
    );
    return exitCodeFor(err);
  }
}
