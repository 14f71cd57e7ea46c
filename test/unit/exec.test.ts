// `exec` hands the child the issued credentials and the ordinary environment, and
// nothing that reaches the lease table or another identity.
import { describe, expect, it } from "vitest";
import { childEnvironment } from "../../cli/commands/exec";

const lease = { leaseId: "aws/creds/r/ABC", accessKey: "AKIAISSUED", secretKey: "issued-secret", expiresAt: "2030-01-01T00:00:00Z" };

describe("exec child environment", () => {
  const parent = {
    PATH: "/usr/bin",
    HOME: "/home/u",
    AWS_CONFIG_FILE: "/home/u/.aws/config",
    AWS_ENDPOINT_URL: "http://localhost:5000",
    PULUMI_CONFIG_PASSPHRASE: "table-passphrase",
    PULUMI_CONFIG_PASSPHRASE_FILE: "/secret/pass",
    PULUMI_ACCESS_TOKEN: "pul-123",
    PULUMI_BACKEND_URL: "s3://table",
    AWSLEASE_HOME: "/home/u/.awslease",
    AWSLEASE_BACKEND: "s3://table",
    AWSLEASE_SECRETS_PROVIDER: "awskms://k",
    AWS_ACCESS_KEY_ID: "AKIAPARENT",
    AWS_SECRET_ACCESS_KEY: "parent-secret",
    AWS_SESSION_TOKEN: "parent-token",
    AWS_PROFILE: "admin",
    AWS_DEFAULT_PROFILE: "admin",
    AWS_SHARED_CREDENTIALS_FILE: "/home/u/.aws/credentials",
    AWS_CONTAINER_AUTHORIZATION_TOKEN: "ecs-token",
    AWS_CONTAINER_CREDENTIALS_FULL_URI: "http://169.254.170.2/creds",
    AWS_CONTAINER_CREDENTIALS_RELATIVE_URI: "/v2/creds",
    AWS_WEB_IDENTITY_TOKEN_FILE: "/var/run/token",
    AWS_ROLE_ARN: "arn:aws:iam::123456789012:role/ci",
  };

  it("withholds the lease table's keys and every other identity's credentials", () => {
    const env = childEnvironment(parent, lease, "eu-west-1");
    const withheld = Object.keys(parent).filter(
      (k) => !["PATH", "HOME", "AWS_CONFIG_FILE", "AWS_ENDPOINT_URL"].includes(k) && !k.startsWith("AWS_ACCESS") && !k.startsWith("AWS_SECRET"),
    );
    for (const k of withheld) expect(env[k], k).toBeUndefined();
    expect(Object.values(env)).not.toContain("table-passphrase");
    expect(Object.values(env)).not.toContain("parent-secret");
  });

  it("keeps the ordinary environment and sets the issued credentials", () => {
    const env = childEnvironment(parent, { ...lease, sessionToken: "issued-token" }, "eu-west-1");
    expect(env).toMatchObject({
      PATH: "/usr/bin",
      HOME: "/home/u",
      AWS_CONFIG_FILE: "/home/u/.aws/config",
      AWS_ENDPOINT_URL: "http://localhost:5000",
      AWS_ACCESS_KEY_ID: "AKIAISSUED",
      AWS_SECRET_ACCESS_KEY: "issued-secret",
      AWS_SESSION_TOKEN: "issued-token",
      AWS_CREDENTIAL_EXPIRATION: "2030-01-01T00:00:00Z",
      AWS_REGION: "eu-west-1",
      AWS_DEFAULT_REGION: "eu-west-1",
      AWSLEASE_EXEC: "aws/creds/r/ABC",
    });
  });

  it("an iam_user lease sets no session token, even when the parent had one", () => {
    expect(childEnvironment(parent, lease, "us-east-1").AWS_SESSION_TOKEN).toBeUndefined();
  });
});
