// waitUntilUsable with a fake clock: sleeping advances the clock, so no test waits.
import { beforeEach, describe, expect, it } from "vitest";
import { GetCallerIdentityCommand, STSClient } from "@aws-sdk/client-sts";
import { mockClient } from "aws-sdk-client-mock";
import { waitUntilUsable } from "../../provider/aws/waitUsable";
import { AwsCallError } from "../../provider/aws/errors";
import { mountSettings } from "../support/fixtures";

const engine = mountSettings({ stsEndpoint: "https://sts.example.test", maxRetries: 5 });
const newKey = { accessKeyId: "AKIANEW", secretAccessKey: "new-secret" };

const sts = mockClient(STSClient);
const identity = { Account: "123456789012", Arn: "arn:aws:iam::123456789012:user/u", UserId: "AIDA" };
const awsError = (name: string, message = name) => Object.assign(new Error(message), { name });

function fakeClock(random = () => 1 - Number.EPSILON) {
  const state = { clock: 0, sleeps: [] as number[] };
  return {
    state,
    opts: {
      now: () => state.clock,
      sleep: async (ms: number) => {
        state.sleeps.push(ms);
        state.clock += ms;
      },
      random,
    },
  };
}

beforeEach(() => {
  sts.reset();
});

describe("waitUntilUsable", () => {
  it("probes sts:GetCallerIdentity with the new key, without SDK retries, until 3 successes in a row", async () => {
    sts.on(GetCallerIdentityCommand).resolves(identity);
    const { opts } = fakeClock();
    await waitUntilUsable(engine, newKey, opts);

    const calls = sts.commandCalls(GetCallerIdentityCommand);
    expect(calls).toHaveLength(3);
    const client = calls[0].thisValue as STSClient;
    const creds = await client.config.credentials();
    expect(creds.accessKeyId).toBe("AKIANEW");
    expect(creds.secretAccessKey).toBe("new-secret");
    expect(await client.config.maxAttempts()).toBe(1);
  });

  it("a rejected-key answer resets the count (InvalidClientTokenId, InvalidAccessKeyId, SignatureDoesNotMatch, AccessDenied)", async () => {
    sts
      .on(GetCallerIdentityCommand)
      .resolvesOnce(identity)
      .resolvesOnce(identity)
      .rejectsOnce(awsError("InvalidClientTokenId"))
      .resolvesOnce(identity)
      .rejectsOnce(awsError("InvalidAccessKeyId"))
      .rejectsOnce(awsError("SignatureDoesNotMatch"))
      .resolvesOnce(identity)
      .rejectsOnce(awsError("AccessDenied"))
      .resolves(identity);
    const { opts } = fakeClock();
    await waitUntilUsable(engine, newKey, opts);
    // 8 scripted answers, then the 3 successes in a row that end the wait.
    expect(sts.commandCalls(GetCallerIdentityCommand)).toHaveLength(11);
  });

  it("requiredSuccesses is configurable", async () => {
    sts.on(GetCallerIdentityCommand).rejectsOnce(awsError("InvalidClientTokenId")).resolves(identity);
    const { opts } = fakeClock();
    await waitUntilUsable(engine, newKey, { ...opts, requiredSuccesses: 5 });
    expect(sts.commandCalls(GetCallerIdentityCommand)).toHaveLength(6);
  });

  it("any other error is thrown at once, naming the action", async () => {
    sts.on(GetCallerIdentityCommand).rejects(awsError("InternalFailure", "boom"));
    const { opts } = fakeClock();
    const err = await waitUntilUsable(engine, newKey, opts).catch((e) => e);
    expect(err).toBeInstanceOf(AwsCallError);
    expect(err.message).toBe("sts:GetCallerIdentity failed: InternalFailure: boom");
    expect(sts.commandCalls(GetCallerIdentityCommand)).toHaveLength(1);
  });

  it("backs off exponentially from the base delay, each delay capped at 2 s, with full jitter", async () => {
    sts.on(GetCallerIdentityCommand).rejects(awsError("InvalidClientTokenId"));
    const { opts, state } = fakeClock(() => 0.5);
    await waitUntilUsable(engine, newKey, { ...opts, baseDelayMs: 250, timeoutMs: 10_000 }).catch(() => undefined);
    // Half (the jitter) of 250, 500, 1000, 2000, 2000, ...
    expect(state.sleeps.slice(0, 6)).toEqual([125, 250, 500, 1000, 1000, 1000]);
  });

  it("jitter draws each delay uniformly from [0, ceiling)", async () => {
    sts.on(GetCallerIdentityCommand).rejectsOnce(awsError("InvalidClientTokenId")).rejectsOnce(awsError("InvalidClientTokenId")).resolves(identity);
    const draws = [0.1, 0.9, 0.3, 0.7];
    const { opts, state } = fakeClock(() => draws.shift() ?? 0);
    await waitUntilUsable(engine, newKey, { ...opts, baseDelayMs: 1000 });
    // failure 1: 0.1*1000, failure 2: 0.9*2000, success: 0.3*1000, success: 0.7*1000
    expect(state.sleeps).toEqual([100, 1800, 300, 700]);
  });

  it("gives up after the timeout with a clear message naming the last failure", async () => {
    sts.on(GetCallerIdentityCommand).rejects(awsError("InvalidClientTokenId", "The security token included in the request is invalid."));
    const { opts, state } = fakeClock();
    const err: Error = await waitUntilUsable(engine, newKey, opts).catch((e) => e);
    expect(err.message).toBe("new access key was not usable after 60s (sts:GetCallerIdentity kept failing: InvalidClientTokenId)");
    expect(err.message).not.toContain("new-secret");
    // It really waited up to (not past) the 60 s budget of the fake clock.
    expect(state.clock).toBeLessThanOrEqual(60_000);
    expect(state.clock).toBeGreaterThan(55_000);
  });

  it("the timeout is configurable and shows in the message", async () => {
    sts.on(GetCallerIdentityCommand).rejects(awsError("AccessDenied"));
    const { opts } = fakeClock();
    const err: Error = await waitUntilUsable(engine, newKey, { ...opts, timeoutMs: 5_000 }).catch((e) => e);
    expect(err.message).toBe("new access key was not usable after 5s (sts:GetCallerIdentity kept failing: AccessDenied)");
  });
});
