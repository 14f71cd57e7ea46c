// Group policy reading and merging (Vault's iam_policies.go).
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { mockClient } from "aws-sdk-client-mock";
import { GetGroupPolicyCommand, IAMClient, ListAttachedGroupPoliciesCommand, ListGroupPoliciesCommand } from "@aws-sdk/client-iam";
import { combinePolicyDocuments, groupPolicies, sessionPolicy } from "../../provider/aws/groupPolicies";
import type { RoleSettings } from "../../provider/types";
import { clientsFor } from "../support/clients";
import { mountSettings } from "../support/fixtures";

const iam = mockClient(IAMClient);

const engine = mountSettings();

const allow = (action: string) => ({ Effect: "Allow", Action: action, Resource: "*" });
const doc = (statement: unknown) => JSON.stringify({ Version: "2012-10-17", Statement: statement });

beforeEach(() => iam.reset());
afterEach(() => iam.reset());

describe("combinePolicyDocuments", () => {
  it("concatenates statements, turning a single Statement object into a list", () => {
    const merged = combinePolicyDocuments([doc([allow("s3:GetObject"), allow("s3:PutObject")]), doc(allow("iam:ListUsers"))]);
    expect(merged).toBe(
      JSON.stringify({
        Version: "2012-10-17",
        Statement: [allow("s3:GetObject"), allow("s3:PutObject"), allow("iam:ListUsers")],
      }),
    );
  });

  it("writes compact JSON and always uses Version 2012-10-17", () => {
    const merged = combinePolicyDocuments(['{\n  "Version": "2008-10-17",\n  "Statement": { "Effect": "Deny", "Action": "*", "Resource": "*" }\n}']);
    expect(merged).toBe('{"Version":"2012-10-17","Statement":[{"Effect":"Deny","Action":"*","Resource":"*"}]}');
  });

  it("skips empty documents and returns undefined when there is no statement", () => {
    expect(combinePolicyDocuments([])).toBeUndefined();
    expect(combinePolicyDocuments(["", "  "])).toBeUndefined();
    expect(combinePolicyDocuments(['{"Version":"2012-10-17"}'])).toBeUndefined();
    expect(combinePolicyDocuments(["", doc(allow("sts:GetCallerIdentity"))])).toBe(doc([allow("sts:GetCallerIdentity")]));
  });

  it("rejects invalid JSON, naming which document", () => {
    expect(() => combinePolicyDocuments([doc(allow("a:b")), "{not json"])).toThrow(/policy document 2 is not valid JSON/);
    expect(() => combinePolicyDocuments(["[1,2]"])).toThrow(/policy document 1 is not a JSON object/);
    expect(() => combinePolicyDocuments(['{"Statement":"Allow"}'])).toThrow(/Statement must be an object or a list/);
  });
});

describe("groupPolicies", () => {
  it("follows pagination of both lists and URL-decodes inline documents", async () => {
    iam
      .on(ListAttachedGroupPoliciesCommand, { GroupName: "ops", Marker: undefined })
      .resolves({ AttachedPolicies: [{ PolicyArn: "arn:aws:iam::aws:policy/A" }], IsTruncated: true, Marker: "m1" })
      .on(ListAttachedGroupPoliciesCommand, { GroupName: "ops", Marker: "m1" })
      .resolves({ AttachedPolicies: [{ PolicyArn: "arn:aws:iam::aws:policy/B" }], IsTruncated: false });
    iam
      .on(ListGroupPoliciesCommand, { GroupName: "ops", Marker: undefined })
      .resolves({ PolicyNames: ["one"], IsTruncated: true, Marker: "n1" })
      .on(ListGroupPoliciesCommand, { GroupName: "ops", Marker: "n1" })
      .resolves({ PolicyNames: ["two"], IsTruncated: false });
    const one = doc([allow("s3:GetObject")]);
    const two = doc({ Effect: "Allow", Action: "s3:*", Resource: "arn:aws:s3:::a b/%/*" });
    iam
      .on(GetGroupPolicyCommand, { GroupName: "ops", PolicyName: "one" })
      .resolves({ GroupName: "ops", PolicyName: "one", PolicyDocument: encodeURIComponent(one) })
      .on(GetGroupPolicyCommand, { GroupName: "ops", PolicyName: "two" })
      .resolves({ GroupName: "ops", PolicyName: "two", PolicyDocument: encodeURIComponent(two) });

    await expect(groupPolicies(clientsFor(engine), ["ops"])).resolves.toEqual({
      inlinePolicies: [one, two],
      policyArns: ["arn:aws:iam::aws:policy/A", "arn:aws:iam::aws:policy/B"],
    });
    expect(iam.commandCalls(ListAttachedGroupPoliciesCommand)).toHaveLength(2);
    expect(iam.commandCalls(ListGroupPoliciesCommand)).toHaveLength(2);
  });

  it("reads every group and makes no call without groups", async () => {
    iam.on(ListAttachedGroupPoliciesCommand).callsFake((input: { GroupName: string }) => ({
      AttachedPolicies: [{ PolicyArn: `arn:aws:iam::123456789012:policy/${input.GroupName}` }],
      IsTruncated: false,
    }));
    iam.on(ListGroupPoliciesCommand).resolves({ PolicyNames: [], IsTruncated: false });
    await expect(groupPolicies(clientsFor(engine), [])).resolves.toEqual({ inlinePolicies: [], policyArns: [] });
    expect(iam.calls()).toHaveLength(0);
    const result = await groupPolicies(clientsFor(engine), ["a", "b"]);
    expect(result.policyArns).toEqual(["arn:aws:iam::123456789012:policy/a", "arn:aws:iam::123456789012:policy/b"]);
  });

  it("names the action and the group on failure", async () => {
    iam.on(ListAttachedGroupPoliciesCommand).resolves({ AttachedPolicies: [], IsTruncated: false });
    iam.on(ListGroupPoliciesCommand).resolves({ PolicyNames: ["p"], IsTruncated: false });
    iam.on(GetGroupPolicyCommand).rejects(Object.assign(new Error("not authorized"), { name: "AccessDenied" }));
    await expect(groupPolicies(clientsFor(engine), ["ops"])).rejects.toMatchObject({
      action: "iam:GetGroupPolicy",
      code: "AccessDenied",
      message: 'iam:GetGroupPolicy failed: AccessDenied: group "ops": not authorized',
    });
  });
});

describe("sessionPolicy", () => {
  const role: RoleSettings = {
    name: "r",
    credentialType: "federation_token",
    policyDocument: doc([allow("s3:GetObject")]),
    policyArns: ["arn:aws:iam::aws:policy/A", "arn:aws:iam::aws:policy/B"],
    roleArns: [],
    iamGroups: ["g1", "g2"],
    iamTags: {},
    defaultStsTtl: 0,
    maxStsTtl: 0,
    userPath: "/",
    sessionTags: {},
  };

  it("merges the role document with the groups' inline policies and de-duplicates ARNs", async () => {
    iam
      .on(ListAttachedGroupPoliciesCommand, { GroupName: "g1" })
      .resolves({ AttachedPolicies: [{ PolicyArn: "arn:aws:iam::aws:policy/B" }, { PolicyArn: "arn:aws:iam::aws:policy/C" }] })
      .on(ListAttachedGroupPoliciesCommand, { GroupName: "g2" })
      .resolves({ AttachedPolicies: [{ PolicyArn: "arn:aws:iam::aws:policy/C" }] });
    iam
      .on(ListGroupPoliciesCommand, { GroupName: "g1" })
      .resolves({ PolicyNames: [] })
      .on(ListGroupPoliciesCommand, { GroupName: "g2" })
      .resolves({ PolicyNames: ["inline"] });
    iam.on(GetGroupPolicyCommand).resolves({ PolicyDocument: encodeURIComponent(doc(allow("iam:ListUsers"))) });

    await expect(sessionPolicy(clientsFor(engine), role)).resolves.toEqual({
      policy: doc([allow("s3:GetObject"), allow("iam:ListUsers")]),
      policyArns: ["arn:aws:iam::aws:policy/A", "arn:aws:iam::aws:policy/B", "arn:aws:iam::aws:policy/C"],
    });
  });

  it("returns the role's own policy unchanged without groups", async () => {
    await expect(sessionPolicy(clientsFor(engine), { ...role, iamGroups: [] })).resolves.toEqual({
      policy: role.policyDocument,
      policyArns: role.policyArns,
    });
    await expect(sessionPolicy(clientsFor(engine), { ...role, iamGroups: [], policyDocument: undefined, policyArns: [] })).resolves.toEqual({
      policy: undefined,
      policyArns: [],
    });
    expect(iam.calls()).toHaveLength(0);
  });
});
