// `npm run build:action`: bundles the GitHub Action into dist/action/ with esbuild. The
// bundle is committed (a JavaScript action runs from the repository as checked out,
// with no npm install), and test/unit/actionBundle.test.ts rebuilds it to check that
// the committed files are what the sources build.
//
//   dist/action/index.js             the action, the lease service and @pulumi/pulumi, minified
//   dist/action/licenses.txt         each bundled package's name, version, licence and LICENSE text
//   dist/action/main.js, post.js     action.yml's entry points: one line each
//   dist/action/providerWatchdog.js  preloaded into provider processes (service/pulumi/automation.ts)
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { packageRoot } from "../provider/version";

const ROOT = packageRoot();

export async function buildAction(outdir: string = join(ROOT, "dist", "action")): Promise<string[]> {
  const esbuild = require("esbuild") as typeof import("esbuild");
  mkdirSync(outdir, { recursive: true });
  const result = await esbuild.build({
    absWorkingDir: ROOT,
    entryPoints: { index: "action/index.ts", providerWatchdog: "service/pulumi/providerWatchdog.ts" },
    outdir,
    bundle: true,
    platform: "node",
    target: "node22",
    format: "cjs",
    minify: true,
    legalComments: "none",
    // Only unreachable code paths of bundled packages warn (e.g. npm's node-gyp lookup).
    logLevel: "error",
    metafile: true,
  });
  if (result.errors.length > 0) throw new Error(`esbuild: ${result.errors.map((e) => e.text).join("; ")}`);
  for (const step of ["main", "post"]) {
    writeFileSync(
      join(outdir, `${step}.js`),
      `// The action's ${step} step (see action.yml); built by scripts/buildAction.ts.\nrequire("./index.js").runStep("${step}");\n`,
    );
  }
  writeFileSync(join(outdir, "licenses.txt"), licenses(Object.keys(result.metafile!.inputs)));
  return ["index.js", "licenses.txt", "main.js", "post.js", "providerWatchdog.js"];
}

/** The licences of the packages whose files are in the bundle (as ncc's --license), sorted by name. */
function licenses(inputs: string[]): string {
  const dirs = new Set<string>();
  for (const file of inputs) {
    const m = /^(.*node_modules\/(?:@[^/]+\/)?[^/]+)\//.exec(file);
    if (m) dirs.add(m[1]);
  }
  const entries = [...dirs].map((dir) => {
    const pkg = JSON.parse(readFileSync(join(ROOT, dir, "package.json"), "utf8")) as { name: string; version: string; license?: string };
    const file = readdirSync(join(ROOT, dir)).find((f) => /^(licen[cs]e|copying)(\.|$)/i.test(f));
    const text = file && existsSync(join(ROOT, dir, file)) ? readFileSync(join(ROOT, dir, file), "utf8").trim() : "(no licence file in the package)";
    return { id: `${pkg.name}@${pkg.version}`, text: `${pkg.name}@${pkg.version}\n${pkg.license ?? "UNKNOWN"}\n${text}\n` };
  });
  const unique = new Map(entries.map((e) => [e.id, e.text]));
  return [...unique.keys()]
    .sort()
    .map((id) => unique.get(id))
    .join("\n");
}

if (require.main === module) {
  buildAction(process.argv[2]).catch((err) => {
    process.stderr.write(`build:action: ${(err as Error).message}\n`);
    process.exit(1);
  });
}
