// Static roles' AWS side (provider/aws/staticKeys.ts) and the provider's rules
// (provider/staticRole.ts) against the in-memory IAM: the branches moto cannot reach
// (a new key that never becomes usable, a user whose two keys must both be kept) and
// the due rules every run goes by.
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { GetCallerIdentityCommand, STSClient } from "@aws-sdk/client-sts";
import { mockClient } from "aws-sdk-client-mock";
import { createStaticKey, deleteStaticKey, userIdOf } from "../../provider/aws/staticKeys";
import { RETIRE_AFTER_SECONDS, staticRoleDue } from "../../provider/staticRole";
import { FakeIam } from "./support/fakeIam";
import { clientsFor } from "../support/clients";
import { mountSettings } from "../support/fixtures";

const engine = mountSettings();
let iam: FakeIam;
const sts = mockClient(STSClient);

/** Wait options with a fake clock: sleeping advances it. */
function fakeWait(timeoutMs = 30_000) {
  let clock = 0;
  return { now: () => clock, sleep: async (ms: number) => void (clock += ms), random: () => 0.5, timeoutMs, requiredSuccesses: 1 };
}

beforeEach(() => {
  iam = new FakeIam();
  iam.pageSize = 100;
  sts.reset();
  sts.on(GetCallerIdentityCommand).resolves({ Account: "123456789012", Arn: "arn:aws:iam::123456789012:user/svc", UserId: "AIDA" });
});

afterEach(() => iam.mock.restore());

describe("createStaticKey", () => {
  it("makes room by deleting the oldest key not kept, then creates one that works", async () => {
    iam.addUser("svc", { keys: ["AKIAOLD", "AKIACURRENT"] });
    const key = await createStaticKey(clientsFor(engine), engine, "svc", { keep: ["AKIACURRENT"], wait: fakeWait() });
    expect(key.deleted).toEqual(["AKIAOLD"]);
    expect(iam.user("svc").keys).toEqual(["AKIACURRENT", key.accessKey]);
  });

  it("never deletes a key it must keep: with both keys kept it fails, naming them, and changes nothing", async () => {
    iam.addUser("svc", { keys: ["AKIAA", "AKIAB"] });
    await expect(createStaticKey(clientsFor(engine), engine, "svc", { keep: ["AKIAA", "AKIAB"], wait: fakeWait() })).rejects.toThrow(
      /iam:CreateAccessKey failed: LimitExceeded: user svc already has 2 access keys awslease must keep \(AKIAA, AKIAB\)/,
    );
    expect(iam.user("svc").keys).toEqual(["AKIAA", "AKIAB"]);
  });

  it("a new key that never works is deleted, not handed out, and the old one stays", async () => {
    iam.addUser("svc", { keys: ["AKIACURRENT"] });
    sts
      .on(GetCallerIdentityCommand)
      .rejects(Object.assign(new Error("The security token included in the request is invalid."), { name: "InvalidClientTokenId" }));
    await expect(createStaticKey(clientsFor(engine), engine, "svc", { keep: ["AKIACURRENT"], wait: fakeWait(5_000) })).rejects.toThrow();
    expect(iam.user("svc").keys).toEqual(["AKIACURRENT"]);
  });

  it("userIdOf: the id, or undefined for no such user; deleteStaticKey of a key already gone is success", async () => {
    iam.addUser("svc", { keys: [] });
    expect(await userIdOf(clientsFor(engine), "svc")).toBe("AIDAFAKE");
    expect(await userIdOf(clientsFor(engine), "nobody")).toBeUndefined();
    await deleteStaticKey(clientsFor(engine), "svc", "AKIAGONE");
  });
});

describe("staticRoleDue", () => {
  const at = Date.parse("2026-12-02T00:00:00Z");
  const state = { rotatedAt: "2026-12-02T00:00:00Z", expiration: "2026-12-02T01:00:00Z" };
  it("rotates at the expiration or when the key is missing; retires a replaced key after a minute; else nothing", () => {
    expect(staticRoleDue(state, at + 1000)).toBeUndefined();
    expect(staticRoleDue({ ...state, retiredKey: "AKIAOLD" }, at + (RETIRE_AFTER_SECONDS - 1) * 1000)).toBeUndefined();
    expect(staticRoleDue({ ...state, retiredKey: "AKIAOLD" }, at + RETIRE_AFTER_SECONDS * 1000)).toBe("retire");
    expect(staticRoleDue({ ...state, retiredKey: "AKIAOLD" }, at + 3600_000)).toBe("rotate");
    expect(staticRoleDue({ ...state, keyMissing: true }, at)).toBe("rotate");
  });
});
