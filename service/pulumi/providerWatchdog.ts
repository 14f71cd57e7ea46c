// Preloaded (NODE_OPTIONS --require) into the provider processes of the CLI's engine
// runs. pulumi starts providers in their own process group, so when pulumi itself is
// killed (SIGKILL, OOM, a lost CI runner) they are not, and a provider would go on
// alone: finishing an issue nobody records, and never exiting. This makes each one
// exit once the pulumi process that started it is gone. Linux (/proc) only; elsewhere
// it does nothing.
import { commOf, isRunning, parentOf } from "./procfs";

const POLL_MS = 500;

/** The nearest ancestor named `pulumi` (the provider runs under a `sh` wrapper script). */
export function pulumiAncestor(pid: number = process.pid, depth = 4): number | undefined {
  let current: number | undefined = pid;
  for (let i = 0; i < depth && current !== undefined && current > 1; i++) {
    current = parentOf(current);
    if (current !== undefined && commOf(current) === "pulumi") return current;
  }
  return undefined;
}

function watch(): void {
  if (!process.argv.some((a) => a.includes("dynamic-provider"))) return;
  const owner = pulumiAncestor();
  if (owner === undefined) return;
  setInterval(() => {
    if (!isRunning(owner) || commOf(owner) !== "pulumi") process.exit(1);
  }, POLL_MS).unref();
}

watch();
