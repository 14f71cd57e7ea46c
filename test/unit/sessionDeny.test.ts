// provider/aws/sessionDeny.ts against the in-memory IAM (aws-sdk-client-mock), for what
// moto cannot show: federation tokens (moto's keys for them do not work against moto),
// the exact documents sent, IAM's inline-policy quota and the fallback it forces, a
// missing permission, and a concurrent writer.
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { denySession, pruneRevokedSessions, REVOKED_SESSIONS_POLICY } from "../../provider/aws/sessionDeny";
import { FakeIam } from "./support/fakeIam";
import { clientsFor } from "../support/clients";
import { mountSettings } from "../support/fixtures";

const engine = mountSettings({ accessKey: "AKIAROOTROOTROOT" });
let iam: FakeIam;

beforeEach(() => {
  iam = new FakeIam();
  iam.addUser("awslease-root");
  iam.roles.set("deploy", new Map());
});
afterEach(() => iam.mock.restore());

const at = (iso: string) => () => new Date(iso);
const rolePolicy = () => JSON.parse(iam.roles.get("deploy")!.get(REVOKED_SESSIONS_POLICY) ?? "null");
const epoch = (iso: string) => Date.parse(iso) / 1000;

describe("denySession", () => {
  it("federation_token: PutUserPolicy on the issuing user with exactly one Deny for the federated user's aws:userid", async () => {
    const result = await denySession(
      clientsFor(engine),
      { principal: "user", name: "awslease-root", sessionId: "123456789012:vault-fed" },
      new Date("2030-01-02T04:00:00Z"),
      at("2030-01-02T03:00:30Z"),
    );
    expect(result.how).toBe("denied");
    // The window ends a minute or two after the revoke: later sessions reusing the name are not denied.
    const windowEnd = epoch("2030-01-02T03:02:00Z");
    const sent = iam.inputsOf("PutUserPolicy");
    expect(sent).toHaveLength(1);
    expect(sent[0].UserName).toBe("awslease-root");
    expect(sent[0].PolicyName).toBe("awslease-revoked-sessions");
    expect(sent[0].PolicyDocument).toBe(
      JSON.stringify({
        Version: "2012-10-17",
        Statement: [
          {
            Sid: `AwsleaseW${windowEnd}U${epoch("2030-01-02T04:01:00Z")}`,
            Effect: "Deny",
            Action: "*",
            Resource: "*",
            Condition: {
              StringEquals: { "aws:userid": ["123456789012:vault-fed"] },
              DateLessThan: { "aws:TokenIssueTime": "2030-01-02T03:02:00Z" },
            },
          },
        ],
      }),
    );
    // Read back to make sure no other writer dropped it.
    expect(iam.commandNames()).toEqual(["GetUserPolicy", "PutUserPolicy", "GetUserPolicy"]);
  });

  it("revokes in one minute share a statement; a later one gets its own; statements not awslease's are kept", async () => {
    const other = { Sid: "Theirs", Effect: "Deny", Action: "s3:*", Resource: "*" };
    iam.roles.get("deploy")!.set(REVOKED_SESSIONS_POLICY, JSON.stringify({ Version: "2012-10-17", Statement: [other] }));
    const deny = (id: string, when: string, expires = "2030-01-02T04:00:00Z") =>
      denySession(clientsFor(engine), { principal: "role", name: "deploy", sessionId: id }, new Date(expires), at(when));
    await deny("AROA1:a", "2030-01-02T03:00:10Z");
    await deny("AROA1:b", "2030-01-02T03:00:50Z", "2030-01-02T05:00:00Z");
    await deny("AROA1:c", "2030-01-02T03:03:00Z");
    const statements = rolePolicy().Statement;
    expect(statements[0]).toEqual(other);
    expect(statements.slice(1).map((s: any) => [s.Sid, s.Condition.StringEquals["aws:userid"]])).toEqual([
      // The shared statement lives until the later of its sessions' expiries.
      [`AwsleaseW${epoch("2030-01-02T03:02:00Z")}U${epoch("2030-01-02T05:01:00Z")}`, ["AROA1:a", "AROA1:b"]],
      [`AwsleaseW${epoch("2030-01-02T03:04:00Z")}U${epoch("2030-01-02T04:01:00Z")}`, ["AROA1:c"]],
    ]);
  });

  it("drops statements whose sessions have all expired, at the next revoke and in sweep's prune; the policy goes when empty", async () => {
    const deny = (id: string, when: string, expires: string) =>
      denySession(clientsFor(engine), { principal: "role", name: "deploy", sessionId: id }, new Date(expires), at(when));
    await deny("AROA1:old", "2030-01-02T03:00:00Z", "2030-01-02T03:20:00Z");
    await deny("AROA1:new", "2030-01-02T03:30:00Z", "2030-01-02T04:30:00Z");
    expect(rolePolicy().Statement.flatMap((s: any) => s.Condition.StringEquals["aws:userid"])).toEqual(["AROA1:new"]);
    const target = { principal: "role" as const, name: "deploy" };
    expect(await pruneRevokedSessions(clientsFor(engine), target, new Date("2030-01-02T04:00:00Z"))).toBe(0);
    expect(await pruneRevokedSessions(clientsFor(engine), target, new Date("2030-01-02T04:31:01Z"))).toBe(1);
    expect(iam.roles.get("deploy")!.has(REVOKED_SESSIONS_POLICY)).toBe(false);
    // Nothing there: nothing written.
    const before = iam.mock.calls().length;
    expect(await pruneRevokedSessions(clientsFor(engine), target)).toBe(0);
    expect(iam.commandNames().slice(before)).toEqual(["GetRolePolicy"]);
  });

  it("at IAM's quota: merges its statements into one first, then falls back to denying every session issued before now, and says so", async () => {
    // A role whose other inline policy leaves room for about one statement of ours.
    iam.inlineQuota.role = 900;
    iam.roles
      .get("deploy")!
      .set("their-own", JSON.stringify({ Version: "2012-10-17", Statement: [{ Effect: "Allow", Action: "s3:*", Resource: "x".repeat(500) }] }));
    const deny = (id: string, when: string) =>
      denySession(clientsFor(engine), { principal: "role", name: "deploy", sessionId: id }, new Date("2030-01-02T06:00:00Z"), at(when));
    expect((await deny("AROA1:session-one", "2030-01-02T03:00:00Z")).how).toBe("denied");
    // A second window does not fit beside the first: both become one statement.
    expect((await deny("AROA1:session-two", "2030-01-02T03:10:00Z")).how).toBe("denied");
    expect(rolePolicy().Statement.map((s: any) => s.Condition.StringEquals["aws:userid"])).toEqual([["AROA1:session-one", "AROA1:session-two"]]);
    // Enough ids that even one statement is too big: the older-sessions form.
    let last;
    for (let i = 0; i < 12 && (last = await deny(`AROA1:a-rather-long-session-name-${i}`, "2030-01-02T03:20:00Z")).how === "denied"; i++);
    expect(last!.how).toBe("older-sessions");
    expect(rolePolicy().Statement).toEqual([
      {
        Sid: `AwsleaseOlderU${epoch("2030-01-02T03:20:00Z") + 43_200 + 60}`,
        Effect: "Deny",
        Action: "*",
        Resource: "*",
        Condition: { DateLessThan: { "aws:TokenIssueTime": "2030-01-02T03:20:00Z" } },
      },
    ]);
    // Their own policy was never touched.
    expect(iam.roles.get("deploy")!.has("their-own")).toBe(true);
  });

  it("a missing permission fails naming it (the lease then stays listed), and nothing is written", async () => {
    iam.failing.set("PutRolePolicy", Object.assign(new Error("not authorized to perform: iam:PutRolePolicy"), { name: "AccessDenied" }));
    await expect(
      denySession(
        clientsFor(engine),
        { principal: "role", name: "deploy", sessionId: "AROA1:x" },
        new Date("2030-01-02T06:00:00Z"),
        at("2030-01-02T03:00:00Z"),
      ),
    ).rejects.toThrow(/^iam:PutRolePolicy failed: AccessDenied/);
    expect(iam.roles.get("deploy")!.size).toBe(0);
  });

  it("revokes at once in one process are written one after another, and none is lost", async () => {
    const ids = Array.from({ length: 6 }, (_, i) => `AROA1:s${i}`);
    await Promise.all(
      ids.map((id) =>
        denySession(clientsFor(engine), { principal: "role", name: "deploy", sessionId: id }, new Date("2030-01-02T06:00:00Z"), at("2030-01-02T03:00:00Z")),
      ),
    );
    expect(
      rolePolicy()
        .Statement.flatMap((s: any) => s.Condition.StringEquals["aws:userid"])
        .sort(),
    ).toEqual(ids);
  });

  it("another process that overwrote the policy in between (read before our write): the read-back sees it, and the Deny is written again", async () => {
    let first = true;
    iam.overrides.set("PutRolePolicy", (i) => {
      const doc = JSON.parse(i.PolicyDocument);
      iam.roles.get("deploy")!.set(i.PolicyName, i.PolicyDocument);
      if (first) {
        first = false;
        // The other writer's document: theirs, without ours.
        doc.Statement[0].Condition.StringEquals["aws:userid"] = ["AROA1:theirs"];
        iam.roles.get("deploy")!.set(i.PolicyName, JSON.stringify(doc));
      }
      return {};
    });
    await denySession(
      clientsFor(engine),
      { principal: "role", name: "deploy", sessionId: "AROA1:ours" },
      new Date("2030-01-02T06:00:00Z"),
      at("2030-01-02T03:00:00Z"),
    );
    expect(rolePolicy().Statement[0].Condition.StringEquals["aws:userid"]).toEqual(["AROA1:theirs", "AROA1:ours"]);
    expect(iam.commandNames()).toEqual(["GetRolePolicy", "PutRolePolicy", "GetRolePolicy", "GetRolePolicy", "PutRolePolicy", "GetRolePolicy"]);
  });
});
