// One IAM user lease: `pulumi up` issues a key that can only read IAM users and
// expires in `ttl`; `pulumi destroy` revokes it (deletes the IAM user).
//
//   pulumi config set iamEndpoint http://127.0.0.1:5000   # only for an emulator
//   pulumi config set stsEndpoint http://127.0.0.1:5000
//   pulumi config set rootAccessKey AKIA...               # the engine's "root" IAM user
//   pulumi config set --secret rootSecretKey              # prompts; stored encrypted
//   pulumi up
import * as pulumi from "@pulumi/pulumi";
import { AwsEngineConfig, AwsLease, AwsRole } from "awslease";

const config = new pulumi.Config();

// Without rootAccessKey the AWS SDK default chain (env, profile, instance role) is used.
const rootAccessKey = config.get("rootAccessKey");
const engine = new AwsEngineConfig("aws", {
  region: config.get("region") ?? "us-east-1",
  iamEndpoint: config.get("iamEndpoint"),
  stsEndpoint: config.get("stsEndpoint"),
  accessKey: rootAccessKey,
  secretKey: rootAccessKey ? config.requireSecret("rootSecretKey") : undefined,
  // Change this value (e.g. to today's date) to rotate the root access key.
  rotateRootTrigger: config.get("rotateRootTrigger"),
});

const readUsers = new AwsRole("read-users", {
  engine,
  credentialType: "iam_user",
  policyDocument: {
    Version: "2012-10-17",
    Statement: [
      {
        Effect: "Allow",
        Action: config.getObject<string[]>("allowedActions") ?? ["iam:GetUser", "iam:ListUsers"],
        Resource: "*",
      },
    ],
  },
});

const ci = new AwsLease("ci", { role: readUsers, ttl: config.get("ttl") ?? "1h" });

export const leaseId = ci.leaseId;
export const username = ci.username;
export const expiresAt = ci.expiresAt;
export const accessKey = ci.accessKey; // plain
export const secretKey = ci.secretKey; // secret Output: `pulumi stack output --show-secrets secretKey`
