// The in-process decryption of passphrase secrets. Vectors are made here with the
// scheme Pulumi documents in its code; test/e2e/lease-table.test.ts checks the same
// code against secrets the real pulumi wrote.
import { describe, expect, it } from "vitest";
import { createCipheriv, pbkdf2Sync, randomBytes } from "node:crypto";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { configuredPassphrase, decryptSecretValue, holdsSecret, passphraseKey, revealSecrets } from "../../service/store/checkpointSecrets";

function seal(key: Buffer, plaintext: string): string {
  const nonce = randomBytes(12);
  const cipher = createCipheriv("aes-256-gcm", key, nonce);
  const body = Buffer.concat([cipher.update(plaintext, "utf8"), cipher.final(), cipher.getAuthTag()]);
  return `v1:${nonce.toString("base64")}:${body.toString("base64")}`;
}

const salt = randomBytes(8);
const key = pbkdf2Sync("correct horse", salt, 1_000_000, 32, "sha256");
const state = { salt: `v1:${salt.toString("base64")}:${seal(key, "pulumi")}` };
const secret = (value: unknown) => ({ "4dabf18193072939515e22adb298388d": "1b47061264138c4ac30d75fd1eb44270", ciphertext: seal(key, JSON.stringify(value)) });

describe("passphrase secrets", () => {
  it("derives the key, checks it against the provider's probe, and opens a secret value", async () => {
    const k = await passphraseKey(state, "correct horse");
    expect(k.equals(key)).toBe(true);
    expect(decryptSecretValue(k, secret({ accessKey: "AKIA", secretKey: "s" }))).toEqual({ accessKey: "AKIA", secretKey: "s" });
    // Kept per salt and passphrase: the same key object, a wrong passphrase still refused.
    expect(await passphraseKey(state, "correct horse")).toBe(k);
  });

  it("reveals every secret in an outputs object, at any depth, and leaves plain values alone", () => {
    const outputs = { engine: secret({ accessKey: "AKIA" }), roles: { ci: { settings: { ttl: 60 } } }, list: [1, secret("s")] };
    expect(holdsSecret(outputs)).toBe(true);
    expect(holdsSecret({ roles: { ci: [1, "x"] } })).toBe(false);
    expect(revealSecrets(key, outputs)).toEqual({ engine: { accessKey: "AKIA" }, roles: { ci: { settings: { ttl: 60 } } }, list: [1, "s"] });
  });

  it("refuses a wrong passphrase, a tampered value and unknown formats", async () => {
    await expect(passphraseKey(state, "wrong")).rejects.toThrow(/incorrect passphrase/);
    await expect(passphraseKey({ salt: "v2:abc" }, "correct horse")).rejects.toThrow(/unknown passphrase state format/);
    const tampered = secret("x");
    tampered.ciphertext = tampered.ciphertext.slice(0, -4) + (tampered.ciphertext.endsWith("AAA=") ? "BBB=" : "AAA=");
    expect(() => decryptSecretValue(key, tampered)).toThrow();
    expect(() => decryptSecretValue(key, { ciphertext: "v1:a:b" })).toThrow(/not an encrypted secret/);
    expect(() => decryptSecretValue(key, { ...secret("x"), ciphertext: "v2:zzz" })).toThrow(/unknown ciphertext format/);
  });

  it("reads the passphrase as Pulumi does: the variable as is, or the file trimmed", () => {
    expect(configuredPassphrase({ PULUMI_CONFIG_PASSPHRASE: " p " })).toBe(" p ");
    expect(configuredPassphrase({})).toBeUndefined();
    const dir = mkdtempSync(join(tmpdir(), "awslease-pp-"));
    try {
      writeFileSync(join(dir, "pp"), "from file\n");
      expect(configuredPassphrase({ PULUMI_CONFIG_PASSPHRASE_FILE: join(dir, "pp") })).toBe("from file");
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
