// The GitHub Actions runner's side of a JavaScript action, as @actions/core speaks it:
// inputs arrive as INPUT_<NAME>, state saved by `main` comes back to `post` as
// STATE_<name>, and values go out through the GITHUB_STATE / GITHUB_ENV / GITHUB_OUTPUT
// command files. The file-command format is the one `--format github` already writes
// (cli/output.ts), so it is shared rather than pulling in @actions/core.
import { appendFileSync } from "node:fs";
import { escapeCommandData, fileCommandEntry, randomFileCommandDelimiter } from "../cli/output";

export type RunnerEnv = NodeJS.ProcessEnv;

/** An input's value, trimmed; "" when not given (@actions/core getInput). */
export function input(env: RunnerEnv, name: string): string {
  return (env[`INPUT_${name.replace(/ /g, "_").toUpperCase()}`] ?? "").trim();
}

/** Saves a value for the post step (GITHUB_STATE), which reads it back with state(). */
export function saveState(env: RunnerEnv, name: string, value: string): void {
  const file = env.GITHUB_STATE;
  if (!file) throw new Error("$GITHUB_STATE is not set: the action must run on a GitHub Actions runner");
  appendFileSync(file, fileCommandEntry(name, value, randomFileCommandDelimiter), { encoding: "utf8" });
}

export function state(env: RunnerEnv, name: string): string {
  return env[`STATE_${name}`] ?? "";
}

/** Workflow commands for the log; each value is escaped so it stays on one line. */
export const command = {
  mask: (value: string) => `::add-mask::${escapeCommandData(value)}`,
  error: (message: string) => `::error::${escapeCommandData(message)}`,
  warning: (message: string) => `::warning::${escapeCommandData(message)}`,
  group: (title: string) => `::group::${escapeCommandData(title)}`,
  endGroup: () => "::endgroup::",
};

/** Lines folded into one collapsible group of the log ("" when there are none). */
export function groupLines(title: string, lines: readonly string[]): string {
  return lines.length === 0 ? "" : `${[command.group(title), ...lines, command.endGroup()].join("\n")}\n`;
}
