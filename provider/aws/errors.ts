// AWS error classification and the one error type the rest of the code raises.

/** An AWS call failed. The message names the AWS action (e.g. "iam:CreateUser"). */
export class AwsCallError extends Error {
  readonly action: string;
  readonly code: string;
  constructor(action: string, code: string, message: string) {
    super(`${action} failed: ${code}: ${message}`);
    this.name = "AwsCallError";
    this.action = action;
    this.code = code;
  }
}

function errorCode(err: unknown): string {
  const e = err as { name?: string; Code?: string; code?: string } | undefined;
  return e?.name || e?.Code || e?.code || "Error";
}

export function isNoSuchEntity(err: unknown): boolean {
  const code = err instanceof AwsCallError ? err.code : errorCode(err);
  return code === "NoSuchEntity" || code === "NoSuchEntityException";
}

export function isEntityAlreadyExists(err: unknown): boolean {
  const code = err instanceof AwsCallError ? err.code : errorCode(err);
  return code === "EntityAlreadyExists" || code === "EntityAlreadyExistsException";
}

/** Rejected credentials: unknown, revoked or not yet propagated keys. */
export function isInvalidCredentials(err: unknown): boolean {
  const code = err instanceof AwsCallError ? err.code : errorCode(err);
  return ["InvalidClientTokenId", "InvalidAccessKeyId", "SignatureDoesNotMatch", "AuthFailure", "ExpiredToken"].includes(code);
}

export function isAccessDenied(err: unknown): boolean {
  const code = err instanceof AwsCallError ? err.code : errorCode(err);
  return code === "AccessDenied" || code === "AccessDeniedException";
}

/** Runs one AWS call and rethrows any failure as an AwsCallError naming the action. */
export async function call<T>(action: string, fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (err) {
    if (err instanceof AwsCallError) throw err;
    const message = (err as Error)?.message ?? String(err);
    throw new AwsCallError(action, errorCode(err), message);
  }
}
