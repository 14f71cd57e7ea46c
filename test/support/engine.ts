// Automation API helpers for e2e tests: a throwaway file backend per test file.
import { mkdtempSync, realpathSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { execFileSync } from "node:child_process";
import * as automation from "@pulumi/pulumi/automation";

export const repoRoot = resolve(__dirname, "../..");

export interface TempBackend {
  dir: string;
  url: string;
  envVars: Record<string, string>;
  cleanup: () => void;
}

export function tempBackend(): TempBackend {
  const dir = mkdtempSync(join(tmpdir(), "awslease-e2e-"));
  const envVars = {
    PULUMI_BACKEND_URL: `file://${dir}/state`,
    PULUMI_CONFIG_PASSPHRASE: "e2e-passphrase",
    PULUMI_HOME: join(dir, "home"),
    PULUMI_SKIP_UPDATE_CHECK: "true",
    PULUMI_DISABLE_AUTOMATIC_PLUGIN_ACQUISITION: "true",
  };
  execFileSync("mkdir", ["-p", `${dir}/state`, `${dir}/home`]);
  return { dir, url: envVars.PULUMI_BACKEND_URL, envVars, cleanup: () => rmSync(dir, { recursive: true, force: true }) };
}

let pulumiCommand: Promise<automation.PulumiCommand> | undefined;
/** The pulumi on PATH, resolved once (no `pulumi version` per workspace). */
export function pulumiCli(): Promise<automation.PulumiCommand> {
  if (!pulumiCommand) {
    const bin = realpathSync(execFileSync("which", ["pulumi"], { encoding: "utf8" }).trim());
    pulumiCommand = automation.PulumiCommand.get({ root: resolve(bin, "../..") });
  }
  return pulumiCommand;
}
