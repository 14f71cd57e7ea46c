// Decrypting a secret of a checkpoint in-process, for the passphrase secrets provider
// only. This mirrors Pulumi's passphrase manager (sdk/go/common/secrets/passphrase):
//   state.salt  = "v1:<base64 salt>:v1:<base64 nonce>:<base64 AES-GCM of "pulumi">"
//   key         = PBKDF2-SHA256(passphrase, salt, 1,000,000 iterations, 32 bytes)
//   secret      = { <sig>: "1b47061264138c4ac30d75fd1eb44270", ciphertext: "v1:<nonce>:<AES-256-GCM, tag appended>" }
// It saves one `pulumi stack output --show-secrets` process (~0.3 s of a credential_process
// call). It is a shortcut, not a second implementation to trust: AES-GCM authenticates
// every value, any surprise (another provider, another format) throws, and the caller
// then asks the engine. test/e2e/lease-table.test.ts checks it against the real pulumi.
import { createDecipheriv, pbkdf2Sync } from "node:crypto";

const SECRET_SIG_KEY = "4dabf18193072939515e22adb298388d";
const SECRET_SIG = "1b47061264138c4ac30d75fd1eb44270";
const ITERATIONS = 1_000_000;

/** The passphrase Pulumi would use, from the same variables; undefined when none is set. */
export function configuredPassphrase(env: NodeJS.ProcessEnv = process.env): string | undefined {
  if (env.PULUMI_CONFIG_PASSPHRASE !== undefined) return env.PULUMI_CONFIG_PASSPHRASE;
  const file = env.PULUMI_CONFIG_PASSPHRASE_FILE;
  if (!file) return undefined;
  const { readFileSync } = require("node:fs") as typeof import("node:fs");
  // As Pulumi reads it: surrounding whitespace trimmed.
  return readFileSync(file, "utf8").trim();
}

function aesGcmOpen(key: Buffer, nonceB64: string, sealedB64: string): Buffer {
  const nonce = Buffer.from(nonceB64, "base64");
  const sealed = Buffer.from(sealedB64, "base64");
  if (nonce.length !== 12 || sealed.length < 16) throw new Error("unexpected ciphertext layout");
  const decipher = createDecipheriv("aes-256-gcm", key, nonce);
  decipher.setAuthTag(sealed.subarray(sealed.length - 16));
  return Buffer.concat([decipher.update(sealed.subarray(0, sealed.length - 16)), decipher.final()]);
}

/** The key of a passphrase secrets provider's state, checked against its "pulumi" probe. */
export function passphraseKey(providerState: unknown, passphrase: string): Buffer {
  const salt = (providerState as { salt?: unknown })?.salt;
  const m = typeof salt === "string" ? /^v1:([^:]+):v1:([^:]+):([^:]+)$/.exec(salt) : null;
  if (!m) throw new Error("unknown passphrase state format");
  const key = pbkdf2Sync(passphrase, Buffer.from(m[1], "base64"), ITERATIONS, 32, "sha256");
  if (aesGcmOpen(key, m[2], m[3]).toString("utf8") !== "pulumi") throw new Error("incorrect passphrase");
  return key;
}

/** A secret value of the checkpoint (`{<sig>: ..., ciphertext}`), decrypted and parsed. */
export function decryptSecretValue(key: Buffer, value: unknown): unknown {
  const v = value as Record<string, unknown> | undefined;
  if (!v || v[SECRET_SIG_KEY] !== SECRET_SIG || typeof v.ciphertext !== "string") throw new Error("not an encrypted secret");
  const m = /^v1:([^:]+):([^:]+)$/.exec(v.ciphertext);
  if (!m) throw new Error("unknown ciphertext format");
  return JSON.parse(aesGcmOpen(key, m[1], m[2]).toString("utf8"));
}
