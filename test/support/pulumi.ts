// e2e globalSetup: the real pulumi binary must be there (setup builds it); print its
// version once so every run shows which engine the e2e tests went through.
import { execFileSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { join } from "node:path";

export default function setup() {
  const sdkVersion = JSON.parse(readFileSync(join(__dirname, "../../node_modules/@pulumi/pulumi/package.json"), "utf8")).version as string;
  let version: string;
  try {
    version = execFileSync("pulumi", ["version"], {
      encoding: "utf8",
      env: { ...process.env, PULUMI_SKIP_UPDATE_CHECK: "true" },
    }).trim();
  } catch {
    throw new Error("the pulumi CLI is not on PATH: run the tests with `npm test` (it runs scripts/setup.sh first)");
  }
  if (version !== `v${sdkVersion}`) {
    throw new Error(`pulumi ${version} does not match @pulumi/pulumi ${sdkVersion}: run \`npm run setup\``);
  }
  console.log(`e2e: pulumi ${version} (${execFileSync("which", ["pulumi"], { encoding: "utf8" }).trim()}), node ${process.version}`);
}
