// The action's `main` step: issue one lease, mask its secrets before anything else is
// printed, export the AWS variables to later steps, and leave the lease id for `post`,
// which always revokes it.
import type { LeaseView } from "../cli/output";
import { leaseRoute, type LeaseRoute } from "./inputs";
import { command, groupLines, input, saveState, type RunnerEnv } from "./runner";
import { exitCodeFor, errorLine } from "../cli/errors";
import { revokeLease } from "./post";
import { ValidationError } from "../provider/errors";
import type { LeaseInput } from "../provider/validation";

/** The state name post reads the lease id from. */
export const LEASE_STATE = "lease_id";

/** The step outputs: the lease id and when it expires (never the credentials themselves). */
function leaseOutputs(lease: LeaseView): Array<[string, string]> {
  return [
    ["lease-id", lease.leaseId],
    ["expiration", lease.expiresAt],
  ];
}

/** Runs main; returns the exit code (0, 1 for bad input, 2 for AWS or engine failures). */
export async function runMain(env: RunnerEnv = process.env, write: (text: string) => void = (t) => process.stdout.write(t)): Promise<number> {
  // Engine progress waits until the masks are out: nothing but them comes first.
  const progress: string[] = [];
  const flushProgress = () => {
    write(groupLines("awslease: engine", progress));
    progress.length = 0;
  };
  let issued: LeaseView | undefined;
  let route: LeaseRoute | undefined;
  try {
    const role = input(env, "role");
    if (!role) throw new ValidationError([{ field: "role", reason: "is required" }]);
    route = leaseRoute(env, (line) => progress.push(line));
    if (route.kind === "server") write(`${command.mask(input(env, "token"))}\n`);
    const request: LeaseInput = {
      ttl: input(env, "ttl") || undefined,
      roleArn: input(env, "role-arn") || undefined,
      roleSessionName: input(env, "role-session-name") || undefined,
      waitUntilUsable: true,
    };
    if (route.kind === "server") {
      const { lease, region } = await route.client.issue(input(env, "mount") || "aws", role, request);
      issued = { ...lease, region };
    } else {
      const { issue } = require("../service/leases") as typeof import("../service/leases");
      const { lease, region } = await issue(route.ctx, role, request, { by: "github-action" });
      issued = { ...lease, region };
    }
    // First the state, so post revokes even if this step dies from here on.
    saveState(env, LEASE_STATE, issued.leaseId);
    const { githubActions } = require("../cli/output") as typeof import("../cli/output");
    write(githubActions(issued, env, undefined, undefined, leaseOutputs));
    flushProgress();
    write(`awslease: lease ${issued.leaseId} (${issued.credentialType}) expires ${issued.expiresAt}; the post step revokes it\n`);
    return 0;
  } catch (err) {
    flushProgress();
    write(`${command.error(`awslease: ${errorLine(err)}`)}\n`);
    // Credentials nobody received must not stay valid (post then finds it gone).
    if (issued) await revokeLease(env, issued.leaseId, write, route).catch(() => undefined);
    return exitCodeFor(err);
  }
}
