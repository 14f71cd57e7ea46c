// The action's bundle has no node_modules, but the engine starts the dynamic provider
// in the project's `main` directory and expects it to resolve two packages there:
// `@pulumi/pulumi/cmd/dynamic-provider` (Pulumi's pulumi-resource-pulumi-nodejs script)
// and `awslease/provider-runtime` (provider/shim.ts). This writes a directory where
// both are two-line stubs that load the bundle itself, so the provider runs the same
// bundled code, with one copy of @pulumi/pulumi.
import { createHash } from "node:crypto";
import { mkdirSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";

export function writeProgramRoot(bundle: string, env: NodeJS.ProcessEnv = process.env): string {
  const sdkVersion = (require("@pulumi/pulumi/package.json") as { version: string }).version;
  const id = createHash("sha256").update(`${bundle}\0${sdkVersion}`).digest("hex").slice(0, 12);
  const root = join(env.RUNNER_TEMP || tmpdir(), `awslease-action-${id}`);
  const load = `require(${JSON.stringify(bundle)})`;
  const files: Record<string, string> = {
    "package.json": JSON.stringify({ name: "awslease-action-program", private: true }),
    "node_modules/@pulumi/pulumi/package.json": JSON.stringify({ name: "@pulumi/pulumi", version: sdkVersion }),
    "node_modules/@pulumi/pulumi/cmd/dynamic-provider/index.js": `${load}.serveDynamicProvider();\n`,
    "node_modules/awslease/package.json": JSON.stringify({ name: "awslease", exports: { "./provider-runtime": "./provider-runtime.js" } }),
    "node_modules/awslease/provider-runtime.js": `module.exports = ${load}.providerRuntime();\n`,
  };
  for (const [path, text] of Object.entries(files)) {
    mkdirSync(dirname(join(root, path)), { recursive: true });
    writeFileSync(join(root, path), text);
  }
  return root;
}
