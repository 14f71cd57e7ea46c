// Secrets read from stdin never appear in argv (visible in `ps`) or shell history.
import { ValidationError } from "../../provider/errors";

export async function readStdinSecret(flag: string): Promise<string> {
  if (process.stdin.isTTY) {
    throw new ValidationError([{ field: flag, reason: "reads the value from stdin, but stdin is a terminal (pipe it in)" }]);
  }
  const chunks: Buffer[] = [];
  for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
  const text = Buffer.concat(chunks).toString("utf8").trim();
  if (!text) throw new ValidationError([{ field: flag, reason: "stdin was empty" }]);
  return text;
}
