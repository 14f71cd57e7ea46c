// The GitHub Action as committed: action.yml declares exactly the inputs action/inputs.ts
// reads, runs the committed bundle on node24 with an always-run post step, and the
// bundle under dist/action/ is what the sources build today (rebuild: npm run build:action).
import { describe, expect, it } from "vitest";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parse } from "yaml";
import { ACTION_INPUTS } from "../../action/inputs";
import { buildAction } from "../../scripts/buildAction";

const root = join(__dirname, "..", "..");
const actionYml = parse(readFileSync(join(root, "action.yml"), "utf8")) as {
  inputs: Record<string, { description: string; required?: boolean; default?: string }>;
  outputs: Record<string, unknown>;
  runs: Record<string, string>;
};

describe("action.yml", () => {
  it("declares the inputs of ACTION_INPUTS, in order, with the same descriptions, required flags and defaults", () => {
    const declared = Object.entries(actionYml.inputs).map(([name, i]) => ({ name, description: i.description, required: i.required, default: i.default }));
    const table = ACTION_INPUTS.map((i) => ({ name: i.name, description: i.description, required: i.required ?? false, default: i.default }));
    expect(declared).toEqual(table);
  });

  it("runs the committed bundle on node24; post always runs; outputs are lease-id and expiration", () => {
    expect(actionYml.runs).toEqual({ using: "node24", main: "dist/action/main.js", post: "dist/action/post.js", "post-if": "always()" });
    expect(Object.keys(actionYml.outputs)).toEqual(["lease-id", "expiration"]);
  });
});

describe("dist/action", () => {
  it("is what the sources build: every committed file equals a fresh build", async () => {
    const out = mkdtempSync(join(tmpdir(), "awslease-action-build-"));
    try {
      const files = await buildAction(out);
      expect(files.length).toBeGreaterThan(3);
      for (const f of files) {
        const fresh = readFileSync(join(out, f));
        const committed = readFileSync(join(root, "dist", "action", f));
        expect(committed.equals(fresh), `dist/action/${f} is stale: run npm run build:action and commit it`).toBe(true);
      }
    } finally {
      rmSync(out, { recursive: true, force: true });
    }
  }, 60_000);
});
