// The inline policy every iam_user lease's user gets: it ends the key at the lease's
// expiry in AWS itself, even if nothing ever revokes it. Pure (no AWS SDK): the role
// rules size policy documents against it.
import { isoSeconds } from "./duration";

/** Name of the inline policy that denies everything once the lease has expired. */
export const EXPIRY_POLICY_NAME = "awslease-expiry";

/**
 * An inline policy that denies every action once aws:CurrentTime is past the
 * expiry: the key stops working on time even if revoke never runs. Compact, because
 * a user's inline policies share one 2,048-character quota with the role's document.
 * (sts:GetCallerIdentity stays allowed: AWS never denies it.)
 */
export function expiryDenyPolicy(expiresAt: Date): string {
  return JSON.stringify({
    Version: "2012-10-17",
    Statement: [
      {
        Effect: "Deny",
        Action: "*",
        Resource: "*",
        Condition: { DateGreaterThan: { "aws:CurrentTime": isoSeconds(expiresAt) } },
      },
    ],
  });
}

/** Characters the expiry policy takes of a user's inline-policy quota (its length does not depend on the date). */
export const EXPIRY_POLICY_SIZE = expiryDenyPolicy(new Date(0)).length;
