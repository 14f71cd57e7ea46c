// awslease's own version, from its package.json (two levels above the source files,
// three above dist/): the user agent of AWS calls, `--version`, the server's health.
import { existsSync, readFileSync } from "node:fs";
import { dirname, join } from "node:path";

let version: string | undefined;

export function awsleaseVersion(): string {
  if (version === undefined) {
    version = "unknown";
    for (let dir = __dirname; dir !== dirname(dir); dir = dirname(dir)) {
      const file = join(dir, "package.json");
      if (!existsSync(file)) continue;
      const pkg = JSON.parse(readFileSync(file, "utf8")) as { name?: string; version?: string };
      if (pkg.name === "awslease") {
        version = pkg.version ?? "unknown";
        break;
      }
    }
  }
  return version;
}
