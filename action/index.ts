// The GitHub Action's bundle entry (dist/action/index.js, built by scripts/buildAction.ts).
// dist/action/main.js and post.js call runStep; the engine's provider process loads the
// same file through the stubs of programRoot.ts. Everything is required lazily, so the
// server route of a step never loads @pulumi/pulumi.
import type { RunnerEnv } from "./runner";

/** Runs the action's main or post step as the runner starts it, and exits with its code. */
export function runStep(step: "main" | "post", env: RunnerEnv = process.env): void {
  const { ownerOnlyFiles } = require("../cli/commands/common") as typeof import("../cli/commands/common");
  const { installInterruptHandlers } = require("../service/pulumi/interrupts") as typeof import("../service/pulumi/interrupts");
  const { setProgramRoot } = require("../service/pulumi/automation") as typeof import("../service/pulumi/automation");
  const { writeProgramRoot } = require("./programRoot") as typeof import("./programRoot");
  ownerOnlyFiles();
  installInterruptHandlers();
  setProgramRoot(writeProgramRoot(__filename, env));
  const run = step === "main" ? (require("./main") as typeof import("./main")).runMain : (require("./post") as typeof import("./post")).runPost;
  const { exitCodeForSignal, interruption } = require("../service/pulumi/interrupts") as typeof import("../service/pulumi/interrupts");
  run(env).then(
    (code) => {
      // A cancelled step exits as a signalled process does (130 for SIGINT), as the CLI.
      const signal = interruption();
      process.exit(signal ? exitCodeForSignal(signal) : code);
    },
    (err) => {
      process.stdout.write(`::error::awslease: ${(err as Error)?.message ?? String(err)}\n`);
      process.exit(2);
    },
  );
}

/** Loaded by node_modules/awslease/provider-runtime.js in the program root. */
export function providerRuntime(): typeof import("../provider/runtime") {
  return require("../provider/runtime");
}

/** Loaded by node_modules/@pulumi/pulumi/cmd/dynamic-provider in the program root: serves the provider over gRPC. */
export function serveDynamicProvider(): void {
  require("@pulumi/pulumi/cmd/dynamic-provider");
}
