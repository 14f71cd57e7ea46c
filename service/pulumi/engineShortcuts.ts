// Every use of non-public parts of the Pulumi Automation API, in one place. Each saves
// an engine process per command; each is checked by test/unit/engineShortcuts.test.ts,
// which fails loudly when an SDK upgrade removes what it relies on.
import type * as automationTypes from "@pulumi/pulumi/automation";

/**
 * A PulumiCommand without its `pulumi version` run (one process, ~0.1 s, less per
 * command). Uses the SDK's own version parser and minimum version
 * (`automation/cmd`, `automation/minimumVersion`), which are not exported from the
 * package's public index. Safe because setup pins the CLI to the SDK's version.
 */
export function pulumiCommandWithoutVersionRun(binary: string): automationTypes.PulumiCommand {
  const { PulumiCommand } = require("@pulumi/pulumi/automation") as typeof automationTypes;
  const { parseAndValidatePulumiVersion } = require("@pulumi/pulumi/automation/cmd") as {
    parseAndValidatePulumiVersion: (min: unknown, v: string, skip: boolean) => unknown;
  };
  const { minimumVersion } = require("@pulumi/pulumi/automation/minimumVersion") as { minimumVersion: unknown };
  const sdkVersion = (require("@pulumi/pulumi/package.json") as { version: string }).version;
  const cmd = Object.create(PulumiCommand.prototype) as { command: string; version: unknown };
  cmd.command = binary;
  cmd.version = parseAndValidatePulumiVersion(minimumVersion, sdkVersion, false);
  return cmd as unknown as automationTypes.PulumiCommand;
}

/**
 * `Stack.up` without the runs around it: the Automation API also runs `stack select`
 * (for an existing stack; `up` names it with --stack anyway), `stack output` twice and
 * `stack history` after the update. Commands take what they need from the program
 * itself, so those four processes are skipped by replacing the workspace's
 * `selectStack` and the stack's `outputs` and `info` for this call.
 */
export async function leanUp(
  workspace: automationTypes.LocalWorkspace,
  stackName: string,
  opts: { create: boolean; onOutput?: (out: string) => void; signal?: AbortSignal },
): Promise<void> {
  const { Stack } = require("@pulumi/pulumi/automation") as typeof automationTypes;
  const patched = workspace as unknown as { selectStack: (name: string) => Promise<void> };
  if (!opts.create) patched.selectStack = async () => {};
  const stack = opts.create ? await Stack.create(stackName, workspace) : await Stack.select(stackName, workspace);
  const lean = stack as unknown as { outputs: () => Promise<object>; info: () => Promise<undefined> };
  lean.outputs = async () => ({});
  lean.info = async () => undefined;
  await stack.up({ onOutput: opts.onOutput, signal: opts.signal });
}
