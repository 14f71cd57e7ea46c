// A new, empty stack written straight into a DIY backend, as `pulumi stack init` writes
// it (3.259: `{"version":3,"checkpoint":{"stack","latest":{"manifest","secrets_providers",
// "metadata"}}}`), with the secrets-provider state of the mount's control stack: the
// same passphrase gives the same key, so nothing is derived here and the server's key
// cache covers the lease's secrets too. It saves a `pulumi` process (~0.3 s) per issue.
// The file is created exclusively (S3: If-None-Match), so a name is never taken twice.
// Anything unexpected returns false and the caller runs `pulumi stack init`;
// test/e2e/new-stack.test.ts compares the file with the real `stack init`'s.
import { createHash } from "node:crypto";
import { backendStore } from "./backendStore";
import { STACKS_DIR, parseCheckpoint } from "./leaseTable";

/** Creates stackName like templateStack (same org, project, CLI version, secrets state); false when it cannot. */
export async function createStackLike(backend: string, stackName: string, templateStack: string): Promise<boolean> {
  // A gzipped backend writes `.json.gz`; the legacy layout has no project directory.
  if (/^(1|true)$/i.test(process.env.PULUMI_DIY_BACKEND_GZIP ?? "") || /^(1|true)$/i.test(process.env.PULUMI_DIY_BACKEND_LEGACY_LAYOUT ?? "")) return false;
  const store = await backendStore(backend);
  const template = await store?.read(`${STACKS_DIR}/${templateStack}.json`);
  if (!store || !template) return false;
  const checkpoint = parseCheckpoint(template.content, false);
  const secrets = checkpoint.latest?.secrets_providers;
  const version = checkpoint.latest?.manifest?.version;
  const qualified = new RegExp(`^([^/]+/[^/]+)/${templateStack.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")}$`).exec(checkpoint.stack ?? "");
  if (secrets?.type !== "passphrase" || !secrets.state || !version || !/^v\d+\.\d+\.\d+/.test(version) || !qualified) return false;
  const state = {
    version: 3,
    checkpoint: {
      stack: `${qualified[1]}/${stackName}`,
      latest: {
        // The engine checks magic = sha256(version) when it reads the manifest.
        manifest: { time: new Date().toISOString(), magic: createHash("sha256").update(version).digest("hex"), version },
        secrets_providers: { type: secrets.type, state: secrets.state },
        metadata: {},
      },
    },
  };
  await store.create(`${STACKS_DIR}/${stackName}.json`, JSON.stringify(state));
  return true;
}
