// New IAM access keys take 5-15 s to become valid everywhere in AWS (vault #687,
// #3115, #8413); there is no API that reports propagation. So, like
// terraform-provider-vault, we poll with the new key until it works several times
// in a row: one success can come from a replica that has the key while the next
// request hits one that does not yet.
import { GetCallerIdentityCommand } from "@aws-sdk/client-sts";
import type { MountSettings } from "../types";
import { stsClient, type StaticCredentials } from "./clients";
import { call, isAccessDenied, isInvalidCredentials } from "./errors";

export interface WaitUntilUsableOptions {
  /** Consecutive successful probes needed (default 3). */
  requiredSuccesses?: number;
  /** Give up after this long (default 60000). */
  timeoutMs?: number;
  /** First backoff step after a failed probe (default 250); doubles per failure up to MAX_DELAY_MS. */
  baseDelayMs?: number;
  /** Injectable for tests. */
  sleep?: (ms: number) => Promise<void>;
  /** Injectable clock in milliseconds (default Date.now). */
  now?: () => number;
  /** Injectable randomness in [0, 1) for the jitter (default Math.random). */
  random?: () => number;
}

const DEFAULT_REQUIRED_SUCCESSES = 3;
const DEFAULT_TIMEOUT_MS = 60_000;
const DEFAULT_BASE_DELAY_MS = 250;
/** Cap of one backoff delay: past ~2 s, waiting longer only delays noticing the key works. */
const MAX_DELAY_MS = 2_000;

const realSleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/** The key is not (yet) known to the endpoint that answered; retrying may succeed. */
function isNotYetUsable(err: unknown): boolean {
  return isInvalidCredentials(err) || isAccessDenied(err);
}

function codeOf(err: unknown): string {
  return (err as { code?: string }).code ?? "Error";
}

/**
 * Resolves once sts:GetCallerIdentity with the given credentials has succeeded
 * `requiredSuccesses` times in a row. A rejected-key answer (InvalidClientTokenId,
 * InvalidAccessKeyId, SignatureDoesNotMatch, AccessDenied) resets the count and
 * backs off (full jitter, exponential, capped at 2 s); any other error is thrown.
 * GetCallerIdentity needs no permission and works even under an explicit deny, so
 * the probe does not depend on what the key is allowed to do.
 */
export async function waitUntilUsable(engine: MountSettings, credentials: StaticCredentials, opts: WaitUntilUsableOptions = {}): Promise<void> {
  const requiredSuccesses = opts.requiredSuccesses ?? DEFAULT_REQUIRED_SUCCESSES;
  const timeoutMs = opts.timeoutMs ?? DEFAULT_TIMEOUT_MS;
  const baseDelayMs = opts.baseDelayMs ?? DEFAULT_BASE_DELAY_MS;
  const sleep = opts.sleep ?? realSleep;
  const now = opts.now ?? Date.now;
  const random = opts.random ?? Math.random;

  // The poll loop is the retry: SDK retries would only hide the answers we count.
  const sts = stsClient({ ...engine, maxRetries: 0 }, credentials);
  const deadline = now() + timeoutMs;
  let successes = 0;
  let failures = 0;
  let lastFailure: string | undefined;
  try {
    for (;;) {
      try {
        await call("sts:GetCallerIdentity", () => sts.send(new GetCallerIdentityCommand({})));
        successes += 1;
        if (successes >= requiredSuccesses) return;
      } catch (err) {
        if (!isNotYetUsable(err)) throw err;
        successes = 0;
        failures += 1;
        lastFailure = codeOf(err);
      }
      // After a success the next probe comes soon (a short jittered pause so it may
      // reach another endpoint); after a failure the delay grows exponentially.
      const ceiling = successes > 0 ? baseDelayMs : Math.min(MAX_DELAY_MS, baseDelayMs * 2 ** (failures - 1));
      const delay = Math.floor(random() * ceiling);
      if (now() + delay >= deadline) {
        const seconds = Math.round(timeoutMs / 1000);
        const why = lastFailure
          ? `sts:GetCallerIdentity kept failing: ${lastFailure}`
          : `only ${successes} of ${requiredSuccesses} consecutive sts:GetCallerIdentity calls succeeded`;
        throw new Error(`new access key was not usable after ${seconds}s (${why})`);
      }
      await sleep(delay);
    }
  } finally {
    sts.destroy();
  }
}
