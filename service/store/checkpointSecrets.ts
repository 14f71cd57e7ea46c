// Decrypting a secret of a checkpoint in-process, for the passphrase secrets provider
// only. This mirrors Pulumi's passphrase manager (sdk/go/common/secrets/passphrase):
//   state.salt  = "v1:<base64 salt>:v1:<base64 nonce>:<base64 AES-GCM of "pulumi">"
//   key         = PBKDF2-SHA256(passphrase, salt, 1,000,000 iterations, 32 bytes)
//   secret      = { <sig>: "1b47061264138c4ac30d75fd1eb44270", ciphertext: "v1:<nonce>:<AES-256-GCM, tag appended>" }
// It saves one `pulumi stack output --show-secrets` process (~0.3 s of a credential_process
// call, and with a key kept per salt, the server's whole mount read). It is a shortcut, not a second implementation to trust: AES-GCM authenticates
// every value, any surprise (another provider, another format) throws, and the caller
// then asks the engine. test/e2e/lease-table.test.ts checks it against the real pulumi.
import { createDecipheriv, createHash, pbkdf2 } from "node:crypto";
import { promisify } from "node:util";

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

const pbkdf2Async = promisify(pbkdf2);

/** Derived keys by salt and passphrase: lease stacks made by newStack.ts share their mount's. */
const derivedKeys = new Map<string, Buffer>();
const DERIVED_KEYS_KEPT = 32;

/**
 * The key of a passphrase secrets provider's state, checked against its "pulumi" probe.
 * PBKDF2 runs off the event loop (~0.13 s) and once per salt and passphrase.
 */
export async function passphraseKey(providerState: unknown, passphrase: string): Promise<Buffer> {
  const salt = (providerState as { salt?: unknown })?.salt;
  const m = typeof salt === "string" ? /^v1:([^:]+):v1:([^:]+):([^:]+)$/.exec(salt) : null;
  if (!m) throw new Error("unknown passphrase state format");
  const id = createHash("sha256")
    .update(salt as string)
    .update("\0")
    .update(passphrase)
    .digest("hex");
  const kept = derivedKeys.get(id);
  if (kept) return kept;
  const key = await pbkdf2Async(passphrase, Buffer.from(m[1], "base64"), ITERATIONS, 32, "sha256");
  let probe = "";
  try {
    probe = aesGcmOpen(key, m[2], m[3]).toString("utf8");
  } catch {
    // A wrong key fails GCM's authentication.
  }
  if (probe !== "pulumi") throw new Error("incorrect passphrase");
  if (derivedKeys.size >= DERIVED_KEYS_KEPT) derivedKeys.delete(derivedKeys.keys().next().value as string);
  derivedKeys.set(id, key);
  return key;
}

function isSecret(value: unknown): boolean {
  return typeof value === "object" && value !== null && (value as Record<string, unknown>)[SECRET_SIG_KEY] === SECRET_SIG;
}

/** Does a value hold a secret anywhere (so a key is needed to show it)? */
export function holdsSecret(value: unknown): boolean {
  if (isSecret(value)) return true;
  if (Array.isArray(value)) return value.some(holdsSecret);
  return typeof value === "object" && value !== null && Object.values(value).some(holdsSecret);
}

/** A value with every secret in it decrypted, as `pulumi stack output --show-secrets` shows it. */
export function revealSecrets(key: Buffer, value: unknown): unknown {
  if (isSecret(value)) return decryptSecretValue(key, value);
  if (Array.isArray(value)) return value.map((v) => revealSecrets(key, v));
  if (typeof value !== "object" || value === null) return value;
  return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, revealSecrets(key, v)]));
}

/** A secret value of the checkpoint (`{<sig>: ..., ciphertext}`), decrypted and parsed. */
export function decryptSecretValue(key: Buffer, value: unknown): unknown {
  const v = value as Record<string, unknown> | undefined;
  if (!v || v[SECRET_SIG_KEY] !== SECRET_SIG || typeof v.ciphertext !== "string") throw new Error("not an encrypted secret");
  const m = /^v1:([^:]+):([^:]+)$/.exec(v.ciphertext);
  if (!m) throw new Error("unknown ciphertext format");
  return JSON.parse(aesGcmOpen(key, m[1], m[2]).toString("utf8"));
}
