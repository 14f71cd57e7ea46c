// cli/progress.ts: a spinner with the step on a terminal, plain lines anywhere else,
// NO_COLOR honoured; and the engine steps it shows, parsed from pulumi's own output.
import { describe, expect, it, vi } from "vitest";
import { progressOn, SPINNER_FRAMES } from "../../cli/progress";
import { engineStep } from "../../service/pulumi/pulumiEngine";

function fakeStream(isTTY: boolean, columns = 200) {
  const chunks: string[] = [];
  const stream = {
    isTTY,
    columns,
    write(chunk: string) {
      chunks.push(chunk);
      return true;
    },
  };
  return { stream, chunks, text: () => chunks.join("") };
}

describe("progressOn", () => {
  it("not a terminal: each progress line as it is, no escape codes, engine steps not shown", () => {
    const { stream, text } = fakeStream(false);
    const p = progressOn(stream, {});
    p.line('awslease: issuing iam_user credentials for role "dev"');
    p.status("creating AwsLease");
    p.line("awslease: revoking x");
    p.stop();
    expect(text()).toBe('awslease: issuing iam_user credentials for role "dev"\nawslease: revoking x\n');
  });

  it("TERM=dumb is not a terminal that can draw a spinner", () => {
    const { stream, text } = fakeStream(true);
    progressOn(stream, { TERM: "dumb" }).line("awslease: step");
    expect(text()).toBe("awslease: step\n");
  });

  it("a terminal: one redrawn line with a frame, the step, the engine's step and the seconds; stop clears it", () => {
    vi.useFakeTimers();
    try {
      const { stream, chunks, text } = fakeStream(true);
      let now = 1_000_000;
      const p = progressOn(stream, {}, () => now);
      p.line('awslease: issuing iam_user credentials for role "dev"');
      expect(chunks.at(-1)).toBe(`\r\x1b[2K\x1b[36m${SPINNER_FRAMES[0]}\x1b[39m issuing iam_user credentials for role "dev" (0s)`);
      p.status("creating AwsLease");
      expect(chunks.at(-1)).toBe(`\r\x1b[2K\x1b[36m${SPINNER_FRAMES[1]}\x1b[39m issuing iam_user credentials for role "dev" · creating AwsLease (0s)`);
      now += 2_500;
      vi.advanceTimersByTime(80);
      expect(chunks.at(-1)).toBe(`\r\x1b[2K\x1b[36m${SPINNER_FRAMES[2]}\x1b[39m issuing iam_user credentials for role "dev" · creating AwsLease (2s)`);
      // A new step starts its own clock and drops the old engine step.
      p.line("awslease: revoking aws/creds/dev/x");
      expect(chunks.at(-1)).toMatch(/ revoking aws\/creds\/dev\/x \(0s\)$/);
      p.stop();
      expect(chunks.at(-1)).toBe("\r\x1b[2K");
      const count = chunks.length;
      vi.advanceTimersByTime(1000);
      expect(chunks.length).toBe(count);
      expect(text()).not.toContain("\n");
    } finally {
      vi.useRealTimers();
    }
  });

  it("anything else written to the stream clears the spinner line first; stop gives the stream its own write back", () => {
    const { stream, chunks } = fakeStream(true);
    const own = stream.write;
    const p = progressOn(stream, {});
    p.line("awslease: step");
    expect(stream.write).not.toBe(own);
    stream.write("awslease: warning: something\n");
    expect(chunks.slice(-2)).toEqual(["\r\x1b[2K", "awslease: warning: something\n"]);
    p.stop();
    expect(stream.write).toBe(own);
  });

  it("a terminal: the engine's step stands in for the line's \"(pulumi up STACK)\"", () => {
    const { stream, chunks } = fakeStream(true);
    const p = progressOn(stream, { NO_COLOR: "1" });
    p.line('awslease: issuing iam_user credentials for role "dev" (pulumi up lease-aws-abc)');
    p.status("creating AwsLease");
    p.stop();
    expect(chunks.slice(0, 2)).toEqual([
      `\r\x1b[2K${SPINNER_FRAMES[0]} issuing iam_user credentials for role "dev" (0s)`,
      `\r\x1b[2K${SPINNER_FRAMES[1]} issuing iam_user credentials for role "dev" · creating AwsLease (0s)`,
    ]);
  });

  it("NO_COLOR: the same spinner without colour codes", () => {
    const { stream, chunks } = fakeStream(true);
    const p = progressOn(stream, { NO_COLOR: "1" });
    p.line("awslease: step");
    p.stop();
    expect(chunks[0]).toBe(`\r\x1b[2K${SPINNER_FRAMES[0]} step (0s)`);
  });

  it("never wider than the terminal (a wrapped line could not be redrawn)", () => {
    const { stream, chunks } = fakeStream(true, 40);
    const p = progressOn(stream, {});
    p.line(`awslease: ${"x".repeat(100)}`);
    p.stop();
    // eslint-disable-next-line no-control-regex -- terminal escape codes are what this checks
    const drawn = chunks[0].replace(/\x1b\[[0-9;]*[A-Za-z]/g, "").replace("\r", "");
    expect(drawn.length).toBeLessThanOrEqual(40);
    expect(drawn.endsWith("…")).toBe(true);
  });
});

describe("engineStep", () => {
  it("reads the resource step from pulumi up's output lines; the stack itself and other lines are not steps", () => {
    expect(engineStep(" +  pulumi-nodejs:dynamic/awslease:AwsLease lease creating (0s) ")).toBe("creating AwsLease");
    expect(engineStep(" ~  pulumi-nodejs:dynamic/awslease:AwsLease lease updating (1s) [diff: ~ttl]")).toBe("updating AwsLease");
    expect(engineStep(" -  pulumi-nodejs:dynamic/awslease:AwsRole deploy deleting (0s) ")).toBe("deleting AwsRole");
    expect(engineStep(" +  pulumi-nodejs:dynamic/awslease:AwsLease lease created (0.07s) ")).toBeUndefined();
    expect(engineStep(" +  pulumi:pulumi:Stack awslease-lease-aws-x creating (0s) ")).toBeUndefined();
    expect(engineStep("Resources:")).toBeUndefined();
    expect(engineStep("    + 2 created")).toBeUndefined();
  });
});

describe("providerWarnings", () => {
  it("reads the provider's warning lines out of a destroy's output (Diagnostics), and nothing else", async () => {
    const { providerWarnings } = await import("../../service/pulumi/automation");
    const output = [
      "Destroying (lease-aws-abc):",
      " -  pulumi-nodejs:dynamic/awslease:AwsLease lease deleting (0s) ",
      "Diagnostics:",
      "  pulumi-nodejs:dynamic/awslease:AwsLease (lease):",
      "    awslease: aws/sts/deploy/abc: denied session AROA1:s on role deploy",
      "    awslease: aws/sts/deploy/abc: warning: every session of role deploy issued before now is denied",
      "Resources:",
    ].join("\n");
    expect(providerWarnings(output)).toEqual(["aws/sts/deploy/abc: every session of role deploy issued before now is denied"]);
    expect(providerWarnings("awslease: x: deleted IAM user u\n")).toEqual([]);
  });
});
