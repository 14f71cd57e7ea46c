// Invalid programs stop in `check`, through the real `pulumi` CLI: the message names
// the field, and nothing is issued in AWS (no IAM user, no lease in state).
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { taggedUsers } from "../support/cli";
import { moto, uniq } from "../support/aws";
import { PulumiProject, resourcesOfType } from "../support/project";

// A program as a user would write it, with one mistake chosen by config.
const program = `
import * as pulumi from "@pulumi/pulumi";
import { AwsEngineConfig, AwsLease, AwsRole } from "awslease";

const config = new pulumi.Config();
const mistake = config.require("mistake");
const engine = new AwsEngineConfig("aws", {
  mount: config.require("mount"),
  iamEndpoint: config.require("endpoint"),
  stsEndpoint: config.require("endpoint"),
  accessKey: config.require("rootAccessKey"),
  secretKey: config.requireSecret("rootSecretKey"),
});
const role = new AwsRole("deployer", {
  engine,
  credentialType: "iam_user",
  policyDocument: { Version: "2012-10-17", Statement: [{ Effect: "Allow", Action: "iam:GetUser", Resource: "*" }] },
  // roleArns belongs to assumed_role only.
  roleArns: mistake === "roleArnsOnIamUser" ? ["arn:aws:iam::123456789012:role/deployer"] : undefined,
});
const lease = new AwsLease("ci", { role, ttl: mistake === "badTtl" ? "1 hour" : "1h" });
export const leaseId = lease.leaseId;
`;

let project: PulumiProject;
let mount: string;

beforeAll(async () => {
  project = await PulumiProject.create({
    install: "link",
    files: {
      "Pulumi.yaml": "name: awslease-check-failures\nruntime: nodejs\n",
      "package.json": JSON.stringify({ name: "awslease-check-failures", private: true, main: "index.ts" }),
      "index.ts": program,
    },
  });
  mount = uniq("checks");
  await project.initStack("checks");
  await project.setConfig("mount", mount);
  await project.setConfig("endpoint", moto().endpoint);
  await project.setConfig("rootAccessKey", moto().accessKey);
  await project.setSecret("rootSecretKey", moto().secretKey);
});

afterAll(() => project?.cleanup());

describe("check failures through the pulumi CLI", () => {
  it("roleArns on an iam_user role: preview and up fail naming the field; no IAM user is created", async () => {
    await project.setConfig("mistake", "roleArnsOnIamUser");
    const expected = "AwsRole resource 'deployer' has a problem: roleArns: only valid for credentialType assumed_role";

    const preview = await project.pulumiFails(["preview", "--non-interactive"]);
    expect(preview).toContain(expected);

    const up = await project.pulumiFails(["up", "--yes", "--skip-preview", "--non-interactive"]);
    expect(up).toContain(expected);
    const state = await project.exportStack();
    expect(resourcesOfType(state, "AwsRole")).toEqual([]);
    expect(resourcesOfType(state, "AwsLease")).toEqual([]);
    expect(await taggedUsers({ mount })).toEqual([]);
  });

  it("a ttl that is not a duration: preview fails naming the lease's ttl", async () => {
    await project.setConfig("mistake", "badTtl");
    const preview = await project.pulumiFails(["preview", "--non-interactive"]);
    expect(preview).toContain("AwsLease resource 'ci' has a problem: ttl: invalid duration \"1 hour\"");
    expect(await taggedUsers({ mount })).toEqual([]);
  });
});
