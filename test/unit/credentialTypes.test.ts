// The credential-type table: complete, and the rules the rest of the code reads from it.
import { describe, expect, it } from "vitest";
import { CREDENTIAL_TYPE_RULES, STS_TTL_TYPES, rulesOf } from "../../provider/credentialTypes";
import { CREDENTIAL_TYPES, type CredentialType } from "../../provider/types";
import { leaseIdFor } from "../../provider/names";
import { revokeLease, renewLease } from "../../provider/aws/leases";
import type { AwsClients } from "../../provider/aws/clients";

/** Clients that fail any call: the rules must decide before AWS is asked. */
const noAws = { iam: { send: () => Promise.reject(new Error("no AWS call expected")) } } as unknown as AwsClients;

describe("credential types", () => {
  it("every type has rules, and nothing else does", () => {
    expect(Object.keys(CREDENTIAL_TYPE_RULES).sort()).toEqual([...CREDENTIAL_TYPES].sort());
    expect(() => rulesOf("iam_role" as CredentialType)).toThrow(/^credentialType: unknown credential type "iam_role"$/);
  });

  it("lease ids follow Vault: creds/ for IAM users, sts/ for the STS types", () => {
    for (const type of CREDENTIAL_TYPES) {
      expect(leaseIdFor("aws", { name: "r", credentialType: type }, "K")).toBe(`aws/${rulesOf(type).leasePath}/r/K`);
    }
    expect(rulesOf("iam_user").leasePath).toBe("creds");
  });

  it("the STS types take the role's STS TTLs within AWS's DurationSeconds limits", () => {
    expect([...STS_TTL_TYPES].sort()).toEqual(["assumed_role", "federation_token", "session_token"]);
    expect(rulesOf("assumed_role").ttl).toEqual({ from: "sts", minSeconds: 900, maxSeconds: 43_200 });
  });

  it("what cannot be revoked in AWS (no recorded session) or renewed is answered without an AWS call", async () => {
    for (const type of CREDENTIAL_TYPES.filter((t) => rulesOf(t).revoke !== "delete-user")) {
      expect(await revokeLease(noAws, { credentialType: type, expiresAt: "2030-01-01T00:00:00Z" })).toMatchObject({ revoked: false });
    }
    for (const type of CREDENTIAL_TYPES.filter((t) => !rulesOf(t).renewable)) {
      await expect(
        renewLease(
          noAws,
          { mount: "aws", region: "us-east-1", maxRetries: 0, leaseSeconds: 0, leaseMaxSeconds: 0 },
          { credentialType: type, issuedAt: "", expiresAt: "" },
          60,
        ),
      ).rejects.toThrow(/^credentialType: lease is not renewable/);
    }
    // And an IAM user lease is both: revoke goes to AWS.
    await expect(revokeLease(noAws, { credentialType: "iam_user", username: "u" })).rejects.toThrow("no AWS call expected");
  });
});
