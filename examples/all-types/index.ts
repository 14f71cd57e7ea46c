// One role and one lease of each of the four credential types of Vault's AWS secrets
// engine. `pulumi up` issues them, `pulumi destroy` revokes them: the IAM user is
// deleted, the assumed-role and federated sessions are denied in AWS, and the session
// token (which no policy can tell apart from its caller) ends at its AWS expiry.
//
//   pulumi config set assumeRoleArn arn:aws:iam::123456789012:role/deployer   # must trust the engine's user
//   pulumi config set rootAccessKey AKIA...      # optional: else the AWS SDK default chain
//   pulumi config set --secret rootSecretKey
//   pulumi config set iamEndpoint http://127.0.0.1:5000   # only for an emulator
//   pulumi config set stsEndpoint http://127.0.0.1:5000
//   pulumi up
import * as pulumi from "@pulumi/pulumi";
import { AwsEngineConfig, AwsLease, AwsRole } from "awslease";

const config = new pulumi.Config();
const rootAccessKey = config.get("rootAccessKey");

const engine = new AwsEngineConfig("aws", {
  region: config.get("region") ?? "us-east-1",
  iamEndpoint: config.get("iamEndpoint"),
  stsEndpoint: config.get("stsEndpoint"),
  accessKey: rootAccessKey,
  secretKey: rootAccessKey ? config.requireSecret("rootSecretKey") : undefined,
  // iam_user leases: 1h unless a lease asks otherwise, never more than a day.
  lease: "1h",
  leaseMax: "24h",
});

const listUsers = {
  Version: "2012-10-17",
  Statement: [{ Effect: "Allow", Action: ["iam:ListUsers"], Resource: "*" }],
};

// iam_user: a new IAM user with this policy, deleted at revoke.
const deployer = new AwsRole("deployer", {
  engine,
  credentialType: "iam_user",
  policyDocument: listUsers,
  iamTags: { team: "platform" },
});

// assumed_role: sts:AssumeRole into an existing role; the policy narrows the session.
const assumer = new AwsRole("assumer", {
  engine,
  credentialType: "assumed_role",
  roleArns: [config.require("assumeRoleArn")],
  policyDocument: listUsers,
  defaultStsTtl: "15m",
  maxStsTtl: "1h",
  sessionTags: { team: "platform" },
});

// federation_token: sts:GetFederationToken; a policy is required (else the token
// would carry the engine's own permissions).
const federated = new AwsRole("federated", {
  engine,
  credentialType: "federation_token",
  policyDocument: JSON.stringify(listUsers),
});

// session_token: sts:GetSessionToken, the engine user's own permissions; no policies.
const session = new AwsRole("session", { engine, credentialType: "session_token" });

const userLease = new AwsLease("deployer", { role: deployer, ttl: "1h" });
const assumedLease = new AwsLease("assumer", { role: assumer, roleSessionName: "awslease-example" });
const federationLease = new AwsLease("federated", { role: federated, ttl: "1h" });
// waitUntilUsable (default true) probes new credentials with sts:GetCallerIdentity
// before `create` returns. Off here: GetSessionToken credentials are usable at once
// on AWS, and emulators such as moto return fixed keys that they reject themselves.
const sessionLease = new AwsLease("session", { role: session, ttl: "1h", waitUntilUsable: false });

function credentials(lease: AwsLease) {
  return {
    leaseId: lease.leaseId,
    credentialType: lease.credentialType,
    accessKey: lease.accessKey,
    secretKey: lease.secretKey, // secret
    sessionToken: lease.sessionToken, // secret (STS types)
    expiresAt: lease.expiresAt,
    arn: lease.arn,
  };
}

export const iamUser = credentials(userLease);
export const assumedRole = credentials(assumedLease);
export const federationToken = credentials(federationLease);
export const sessionToken = credentials(sessionLease);
