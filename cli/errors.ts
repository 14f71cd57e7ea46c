// Exit codes (Vault's convention): 0 ok, 1 usage or validation error, 2 AWS/engine error.
// Every error is one line on stderr; the stack trace only with --debug.

export const EXIT_USAGE = 1;
export const EXIT_REMOTE = 2;

export function exitCodeFor(err: unknown): number {
  const e = err as { failures?: unknown; name?: string };
  if (e?.failures || e?.name === "ValidationError" || e?.name === "YError") return EXIT_USAGE;
  return EXIT_REMOTE;
}

/**
 * The shared rules name fields as a Pulumi program writes them (roleArns); at the CLI
 * the user typed a flag (--role-arns). Multi-word camelCase fields become flag names.
 */
export function asFlag(field: string): string {
  return /^[a-z]+[A-Z][A-Za-z]*$/.test(field) ? `--${field.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`)}` : field;
}

export function errorLine(err: unknown): string {
  const failures = (err as { failures?: { field: string; reason: string }[] }).failures;
  const message =
    failures && failures.length > 0
      ? `${asFlag(failures[0].field)}: ${failures[0].reason}${failures.length > 1 ? ` (and ${failures.length - 1} more)` : ""}`
      : ((err as Error)?.message ?? String(err));
  return message
    .split("\n")
    .map((l) => l.trim())
    .filter(Boolean)
    .join(" ");
}

export function reportError(err: unknown, debug: boolean): number {
  process.stderr.write(`awslease: error: ${errorLine(err)}\n`);
  if (debug && (err as Error)?.stack) process.stderr.write(`${(err as Error).stack}\n`);
  return exitCodeFor(err);
}
