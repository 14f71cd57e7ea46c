// The guard of cli/engineShortcuts.ts: each non-public part of the Automation API it
// relies on is still there and still does what the shortcut assumes. A failure here
// after an SDK upgrade means: fix or drop the shortcut before anything else.
import { describe, expect, it } from "vitest";
import * as automation from "@pulumi/pulumi/automation";
import { leanUp, pulumiCommandWithoutVersionRun } from "../../service/pulumi/engineShortcuts";

const sdkVersion = (require("@pulumi/pulumi/package.json") as { version: string }).version;

describe("engine shortcuts still fit the installed @pulumi/pulumi", () => {
  it("automation/cmd's version parser and automation/minimumVersion exist; the command is a real PulumiCommand", () => {
    const cmd = require("@pulumi/pulumi/automation/cmd") as Record<string, unknown>;
    expect(typeof cmd.parseAndValidatePulumiVersion).toBe("function");
    expect((require("@pulumi/pulumi/automation/minimumVersion") as Record<string, unknown>).minimumVersion).toBeDefined();
    const command = pulumiCommandWithoutVersionRun("/bin/pulumi-x");
    expect(command).toBeInstanceOf(automation.PulumiCommand);
    expect(command.command).toBe("/bin/pulumi-x");
    expect(String(command.version)).toBe(sdkVersion);
    expect(typeof (command as unknown as { run: unknown }).run).toBe("function");
  });

  it("Stack.select goes through workspace.selectStack, and Stack.up calls this.outputs() and this.info() afterwards", () => {
    const source = automation.Stack.prototype.up.toString();
    expect(source).toContain("this.outputs()");
    expect(source).toContain("this.info(");
    const stackSource = require("node:fs").readFileSync(require.resolve("@pulumi/pulumi/automation/stack.js"), "utf8") as string;
    expect(stackSource).toMatch(/case "select":\s*this\.ready = workspace\.selectStack\(name\)/);
    expect(typeof automation.LocalWorkspace.prototype.selectStack).toBe("function");
  });

  it("leanUp on an existing stack runs only `up`: no select, outputs or info", async () => {
    const calls: string[] = [];
    const workspace = {
      selectStack: async () => calls.push("selectStack"),
      program: undefined,
    } as unknown as automation.LocalWorkspace;
    const upSpy = automation.Stack.prototype.up;
    // Stands in for the engine run: what matters is what runs around it.
    (automation.Stack.prototype as { up: unknown }).up = async function (this: { outputs: () => Promise<unknown>; info: () => Promise<unknown> }) {
      calls.push("up");
      await this.outputs();
      await this.info();
      return {};
    };
    try {
      await leanUp(workspace, "s", { create: false });
    } finally {
      (automation.Stack.prototype as { up: unknown }).up = upSpy;
    }
    expect(calls).toEqual(["up"]);
  });
});
