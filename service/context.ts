// The lease service's context: which mount and state backend a call is about, and the
// parts it runs on (ports.ts). serviceContext builds the real ones from flags and the
// environment; tests build their own.
import { homedir } from "node:os";
import { join, resolve } from "node:path";
import { ValidationError } from "../provider/errors";
import { mountNameProblem } from "../provider/names";
import type { AwsAccess, Engine, LeaseStore } from "./ports";
import type { EngineLocation } from "./pulumi/automation";
import { pulumiEngine, pulumiLeaseStore } from "./pulumi/pulumiEngine";
import { withAwsClients } from "../provider/aws/clients";

export interface ServiceContext extends EngineLocation {
  mount: string;
  engine: Engine;
  store: LeaseStore;
  aws: AwsAccess;
  /** Milliseconds since the epoch. */
  now: () => number;
}

/** Where state is and which mount: flags first, then AWSLEASE_* variables, then defaults. */
export interface ServiceOptions {
  home?: string;
  backend?: string;
  mount?: string;
  secretsProvider?: string;
  quiet?: boolean;
  /** Where progress lines go (default stderr; nowhere when quiet). */
  progress?: (line: string) => void;
  /** The engine's current step, for a spinner (cli/progress.ts). */
  status?: (step: string) => void;
  debug?: boolean;
  /** The server's long-running provider process (service/pulumi/warmProvider.ts). */
  warmProvider?: import("./pulumi/warmProvider").WarmProvider;
}

export function serviceContext(opts: ServiceOptions, env: NodeJS.ProcessEnv = process.env): ServiceContext {
  const home = resolve(opts.home ?? env.AWSLEASE_HOME ?? join(homedir(), ".awslease"));
  const mount = opts.mount ?? env.AWSLEASE_MOUNT ?? "aws";
  const problem = mountNameProblem(mount);
  if (problem) throw new ValidationError([{ field: "--mount", reason: problem }]);
  const location: EngineLocation = {
    home,
    backend: opts.backend ?? env.AWSLEASE_BACKEND ?? `file://${join(home, "state")}`,
    secretsProvider: opts.secretsProvider ?? env.AWSLEASE_SECRETS_PROVIDER,
    progress: opts.quiet ? () => {} : (opts.progress ?? ((line) => process.stderr.write(`${line}\n`))),
    debug: !!opts.debug,
    status: opts.quiet ? undefined : opts.status,
    warmProvider: opts.warmProvider,
  };
  return { ...location, mount, engine: pulumiEngine(location), store: pulumiLeaseStore(location), aws: withAwsClients, now: Date.now };
}
