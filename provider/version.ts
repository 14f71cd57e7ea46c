// awslease's own version and directory, from its package.json (two levels above the
// source files, three above dist/): the user agent of AWS calls, `--version`, the
// server's health, and where the UI's assets are.
import { existsSync, readFileSync } from "node:fs";
import { dirname, join } from "node:path";

let found: { root: string; version: string } | undefined;

function packageInfo(): { root: string; version: string } {
  if (found === undefined) {
    found = { root: dirname(__dirname), version: "unknown" };
    for (let dir = __dirname; dir !== dirname(dir); dir = dirname(dir)) {
      const file = join(dir, "package.json");
      if (!existsSync(file)) continue;
      const pkg = JSON.parse(readFileSync(file, "utf8")) as { name?: string; version?: string };
      if (pkg.name === "awslease") {
        found = { root: dir, version: pkg.version ?? "unknown" };
        break;
      }
    }
  }
  return found;
}

export function awsleaseVersion(): string {
  return packageInfo().version;
}

/** The awslease package's directory (where package.json is): the UI's assets are under it. */
export function packageRoot(): string {
  return packageInfo().root;
}
