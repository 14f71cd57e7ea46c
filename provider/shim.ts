// The provider object Pulumi serializes into state is this thin shim. Each method
// loads the installed awslease implementation ("awslease/provider-runtime") at call
// time, from the project directory the engine runs the provider in.
//
// Why: `destroy` and `refresh` run the code stored in state at the last create or
// update. Storing only this shim means (a) no credentials, clients or SDK internals
// can be captured into state, (b) a revoke always runs the awslease version that is
// installed, and (c) upgrading awslease does not change the stored provider, so it
// never turns into an update or replacement of leases.
import type * as pulumi from "@pulumi/pulumi";

export type ResourceKind = "engine" | "role" | "lease" | "staticRole";

function loadOperations(kind: ResourceKind): pulumi.dynamic.ResourceProvider {
  // Resolve from the project directory, where the user's node_modules are; a
  // file path inside it also lets the awslease repo resolve itself by name.
  const path = require("path");
  const { createRequire } = require("module");
  const from = path.join(process.cwd(), "__awslease_provider__.js");
  let runtime: { operations: Record<string, pulumi.dynamic.ResourceProvider> };
  try {
    runtime = createRequire(from)("awslease/provider-runtime");
  } catch (err) {
    throw new Error(
      `awslease: cannot load "awslease/provider-runtime" from ${process.cwd()}: ${(err as Error).message}. ` +
        "Install awslease in this Pulumi project (npm install awslease).",
      { cause: err },
    );
  }
  return runtime.operations[kind];
}

const shims = new Map<ResourceKind, pulumi.dynamic.ResourceProvider>();

/** One shim object per kind, so Pulumi serializes each only once per process. */
export function shimProvider(kind: ResourceKind): pulumi.dynamic.ResourceProvider {
  let shim = shims.get(kind);
  if (!shim) {
    shim = makeShim(kind);
    shims.set(kind, shim);
  }
  return shim;
}

function makeShim(kind: ResourceKind): pulumi.dynamic.ResourceProvider {
  return {
    check: (olds, news) => loadOperations(kind).check!(olds, news),
    diff: (id, olds, news) => loadOperations(kind).diff!(id, olds, news),
    create: (inputs) => loadOperations(kind).create(inputs),
    read: (id, props) => loadOperations(kind).read!(id, props),
    update: (id, olds, news) => loadOperations(kind).update!(id, olds, news),
    delete: (id, props) => loadOperations(kind).delete!(id, props),
  };
}
