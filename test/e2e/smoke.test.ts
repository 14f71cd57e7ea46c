// The foundation: an inline program with a trivial dynamic resource goes `up` and
// `destroy` through the real pulumi binary on a file backend.
import { afterAll, describe, expect, it } from "vitest";
import * as pulumi from "@pulumi/pulumi";
import * as automation from "@pulumi/pulumi/automation";
import { existsSync, readdirSync } from "node:fs";
import { join } from "node:path";
import { pulumiCli, repoRoot, tempBackend } from "../support/engine";

const backend = tempBackend();
afterAll(() => backend.cleanup());

class Thing extends pulumi.dynamic.Resource {
  declare readonly doubled: pulumi.Output<number>;
}

const counterProvider: pulumi.dynamic.ResourceProvider = {
  async create(inputs) {
    return { id: `thing-${inputs.n}`, outs: { n: inputs.n, doubled: inputs.n * 2, pid: process.pid } };
  },
};

describe("smoke: real engine", () => {
  it("goes up and destroy with a dynamic resource", async () => {
    const program = async () => {
      const r = new Thing(counterProvider, "thing", { n: 21, doubled: undefined, pid: undefined });
      return { doubled: r.doubled, id: r.id };
    };
    const stack = await automation.LocalWorkspace.createOrSelectStack(
      { stackName: "smoke", projectName: "awslease-smoke", program },
      {
        pulumiCommand: await pulumiCli(),
        envVars: backend.envVars,
        workDir: backend.dir,
        projectSettings: { name: "awslease-smoke", runtime: "nodejs", main: repoRoot },
      },
    );
    const up = await stack.up();
    expect(up.summary.result).toBe("succeeded");
    expect(up.outputs.doubled.value).toBe(42);
    expect(up.outputs.id.value).toBe("thing-21");
    // The provider ran in its own process spawned by the engine, not in this test process.
    const state = await stack.exportStack();
    const res = state.deployment.resources.find((r: { type: string }) => r.type === "pulumi-nodejs:dynamic:Resource");
    expect(res.outputs.pid).not.toBe(process.pid);
    expect(existsSync(join(backend.dir, "state", ".pulumi", "stacks"))).toBe(true);

    const down = await stack.destroy();
    expect(down.summary.result).toBe("succeeded");
    const after = await stack.exportStack();
    expect(after.deployment.resources ?? []).toHaveLength(0);
    await stack.workspace.removeStack("smoke");
    // `stack rm` leaves only backups behind.
    const left = readdirSync(join(backend.dir, "state", ".pulumi", "stacks", "awslease-smoke"));
    expect(left.filter((f) => f.endsWith(".json"))).toEqual([]);
  });
});
