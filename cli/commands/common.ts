// Shared by the command modules: the engine context from global flags, and lazy loading.
import type { EngineContext, GlobalOptions } from "../automation";

export interface GlobalArgs extends GlobalOptions {
  "secrets-provider"?: string;
}

export function context(argv: GlobalArgs): EngineContext {
  const { engineContext } = require("../automation") as typeof import("../automation");
  return engineContext({ ...argv, secretsProvider: argv["secrets-provider"] });
}

/** Writes the command's requested output; nothing else goes to stdout. */
export function print(text: string): void {
  process.stdout.write(text.endsWith("\n") || text === "" ? text : `${text}\n`);
}

export const formatOption = (choices: readonly string[], defaultFormat = "table") =>
  ({
    type: "string",
    choices: [...choices],
    default: defaultFormat,
    describe: "Output format",
  }) as const;
