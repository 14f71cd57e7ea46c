// Shared by the command modules: the service context from global flags, and lazy loading.
import { readFileSync } from "node:fs";
import type { ServiceContext, ServiceOptions } from "../../service/context";
import { ValidationError } from "../../provider/errors";
import { SHELLS } from "../output";

/** The global flags: the service options a user can give (not the server's warm provider). */
export interface GlobalArgs extends Omit<ServiceOptions, "warmProvider"> {
  "secrets-provider"?: string;
}

let progress: import("../progress").Progress | undefined;

/**
 * The service context of a command. Its progress goes to a spinner when stderr is a
 * terminal (cli/progress.ts), except for the server, whose progress lines are its log.
 */
export function context(argv: GlobalArgs, extra: Pick<ServiceOptions, "warmProvider"> & { logLines?: boolean } = {}): ServiceContext {
  const { serviceContext } = require("../../service/context") as typeof import("../../service/context");
  if (!progress && !extra.logLines) progress = (require("../progress") as typeof import("../progress")).progressOn(process.stderr);
  const shown = extra.logLines ? {} : { progress: (line: string) => progress!.line(line), status: (step: string) => progress!.status(step) };
  // Not argv.warmProvider: that is the server's --warm-provider flag, a boolean.
  return serviceContext({ ...argv, ...shown, warmProvider: extra.warmProvider, secretsProvider: argv["secrets-provider"] });
}

/** Clears the spinner, if one is drawn: before the command's output, or a child that shares the terminal. */
export function stopProgress(): void {
  progress?.stop();
}

/** The awslease server to go through (AWSLEASE_ADDR), or undefined to run on the engine here. */
export function remote(): import("../serverClient").ServerClient | undefined {
  const { serverClient } = require("../serverClient") as typeof import("../serverClient");
  return serverClient();
}

/** Revokes one lease, here or through the server; returns the warnings (e.g. STS credentials stay valid). */
export async function revokeOne(
  argv: GlobalArgs,
  leaseId: string,
  opts: { ignoreMissing?: boolean; breakLock?: boolean } = {},
): Promise<import("../../service/leases").RevokeResult> {
  const server = remote();
  if (server) return { outcome: "revoked" as const, ...(await server.revoke(leaseId)) };
  const { revoke } = await import("../../service/leases");
  return revoke(context(argv), leaseId, opts);
}

/** Writes the command's requested output; nothing else goes to stdout. */
export function print(text: string): void {
  stopProgress();
  process.stdout.write(text.endsWith("\n") || text === "" ? text : `${text}\n`);
}

/** `--format`; AWSLEASE_FORMAT sets the default where it is one of the command's formats (as VAULT_FORMAT). */
export const formatOption = (choices: readonly string[], defaultFormat = "table") => {
  const fromEnv = process.env.AWSLEASE_FORMAT;
  return {
    type: "string",
    choices: [...choices],
    default: fromEnv && choices.includes(fromEnv) ? fromEnv : defaultFormat,
    describe: "Output format [env AWSLEASE_FORMAT]",
  } as const;
};

/** `--field NAME` (also `-field NAME`, as Vault writes it): one value, raw. */
export const fieldOption = { type: "string", describe: "Print only this field's value, raw (as `vault read -field=`)" } as const;

/** `--shell` for `--format env`. */
export const shellOption = {
  type: "string",
  choices: [...SHELLS],
  default: "posix",
  describe: "The shell --format env writes for",
} as const;

const READ_ERRORS: Record<string, string> = { ENOENT: "no such file", EACCES: "permission denied", EISDIR: "is a directory" };

/** A file the user names for input; "-" is stdin. A failure is a one-line validation error naming it. */
export function readInputFile(path: string, flag: string, what: string): string {
  try {
    return readFileSync(path === "-" ? 0 : path, "utf8");
  } catch (err) {
    const e = err as NodeJS.ErrnoException;
    const where = path === "-" ? "from stdin" : `file ${path}`;
    throw new ValidationError([{ field: flag, reason: `cannot read ${what} ${where}: ${READ_ERRORS[e.code ?? ""] ?? e.message}` }]);
  }
}

let userUmask: number | undefined;

/**
 * Owner-only files and directories (umask 077) for everything this run and its engine
 * processes create: state, backups, locks, logs and temp files.
 */
export function ownerOnlyFiles(): void {
  userUmask = process.umask(0o077);
}

/** Runs fn (e.g. spawning exec's command) with the user's own umask: their files are not ours. */
export function withUserUmask<T>(fn: () => T): T {
  if (userUmask === undefined) return fn();
  process.umask(userUmask);
  try {
    return fn();
  } finally {
    process.umask(0o077);
  }
}

/** `--parallel N`: engine runs at once in bulk revokes and sweeps. */
export const parallelFlag = {
  type: "number",
  describe: "Leases revoked at once (each is one engine run)",
  defaultDescription: "4",
} as const;

export function parallelOption(value: number | undefined): number | undefined {
  if (value === undefined) return undefined;
  if (!Number.isInteger(value) || value < 1 || value > 64) {
    throw new ValidationError([{ field: "--parallel", reason: `must be a whole number from 1 to 64, got ${value}` }]);
  }
  return value;
}
