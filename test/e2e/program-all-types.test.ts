// examples/all-types as a user runs it: `npm install`, then `pulumi preview` and
// `pulumi up` (with its preview), `refresh`, `destroy`, through the real CLI against moto.
//
// moto gaps (measured on moto 5.2; unit tests cover these paths with exact parameters):
// - GetFederationToken and GetSessionToken return fixed example keys that moto itself
//   rejects: those two leases are checked for shape and secrecy, not used;
// - a trust policy must name the caller's exact ARN (the account root does not admit users).
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  AttachRolePolicyCommand,
  CreatePolicyCommand,
  CreateRoleCommand,
  GetRoleCommand,
  GetUserCommand,
  ListRolesCommand,
  ListUsersCommand,
  ListUserTagsCommand,
} from "@aws-sdk/client-iam";
import { GetCallerIdentityCommand } from "@aws-sdk/client-sts";
import { clients, moto, uniq, errorName } from "../support/aws";
import { isEncryptedSecret, PulumiProject, resourcesOfType } from "../support/project";

interface Credentials {
  leaseId: string;
  credentialType: string;
  accessKey: string;
  secretKey: string;
  sessionToken?: string;
  expiresAt: string;
  arn?: string;
}
type Outputs = Record<"iamUser" | "assumedRole" | "federationToken" | "sessionToken", Credentials>;

let project: PulumiProject;
let roleName: string;
let roleArn: string;
let outputs: Outputs;
/** When `up` started and ended: every expiry is issue time + TTL, somewhere in between. */
let upStarted: number;
let upEnded: number;

const root = () => clients().iam;

/** The lease was issued for `seconds` (expiresAt has whole seconds). */
function expectTtl(c: Credentials, seconds: number): void {
  expect(Date.parse(c.expiresAt), c.leaseId).toBeGreaterThanOrEqual(upStarted - 1000 + seconds * 1000);
  expect(Date.parse(c.expiresAt), c.leaseId).toBeLessThanOrEqual(upEnded + seconds * 1000);
}

beforeAll(async () => {
  // The role the assumed_role lease assumes: trusts the engine's user, may list users.
  const m = moto();
  roleName = uniq("e2e-assumed");
  const trust = {
    Version: "2012-10-17",
    Statement: [
      {
        Effect: "Allow",
        Principal: { AWS: `arn:aws:iam::${m.accountId}:user/root` },
        Action: ["sts:AssumeRole", "sts:TagSession"],
      },
    ],
  };
  const role = await root().send(new CreateRoleCommand({ RoleName: roleName, AssumeRolePolicyDocument: JSON.stringify(trust) }));
  roleArn = role.Role!.Arn!;
  const policy = await root().send(
    new CreatePolicyCommand({
      PolicyName: uniq("e2e-list-users"),
      PolicyDocument: JSON.stringify({ Version: "2012-10-17", Statement: [{ Effect: "Allow", Action: "iam:ListUsers", Resource: "*" }] }),
    }),
  );
  await root().send(new AttachRolePolicyCommand({ RoleName: roleName, PolicyArn: policy.Policy!.Arn! }));

  project = await PulumiProject.create({ example: "all-types", install: "npm" });
  await project.initStack("e2e");
  await project.setConfig("iamEndpoint", m.endpoint);
  await project.setConfig("stsEndpoint", m.endpoint);
  await project.setConfig("assumeRoleArn", roleArn);
  await project.setConfig("rootAccessKey", m.accessKey);
  await project.setSecret("rootSecretKey", m.secretKey);
});

afterAll(async () => {
  const state = await project?.exportStack().catch(() => undefined);
  if (state && resourcesOfType(state, "AwsLease").length > 0) await project.destroy().catch(() => undefined);
  project?.cleanup();
});

describe("examples/all-types: one lease of each credential type", () => {
  it("preview of the first deployment plans every resource, with no check failure on values not known yet", async () => {
    const steps = await project.previewSteps();
    const created = steps.filter((s) => s.op === "create").map((s) => `${s.type.split(":").pop()} ${s.name}`);
    expect(created.sort()).toEqual(
      [
        "AwsEngineConfig aws",
        "AwsLease assumer",
        "AwsLease deployer",
        "AwsLease federated",
        "AwsLease session",
        "AwsRole assumer",
        "AwsRole deployer",
        "AwsRole federated",
        "AwsRole session",
        "Stack awslease-all-types-e2e",
      ].sort(),
    );
  });

  it("up (with its preview) issues an IAM user, an assumed role, a federation token and a session token", async () => {
    upStarted = Date.now();
    await project.pulumi(["up", "--yes", "--non-interactive"]);
    upEnded = Date.now();
    outputs = (await project.outputs()) as Outputs;

    const { iamUser, assumedRole, federationToken, sessionToken } = outputs;
    expect(iamUser.leaseId).toMatch(/^aws\/creds\/deployer\/[A-Za-z0-9]{24}$/);
    expect(assumedRole.leaseId).toMatch(/^aws\/sts\/assumer\/[A-Za-z0-9]{24}$/);
    expect(federationToken.leaseId).toMatch(/^aws\/sts\/federated\/[A-Za-z0-9]{24}$/);
    expect(sessionToken.leaseId).toMatch(/^aws\/sts\/session\/[A-Za-z0-9]{24}$/);
    expect([iamUser, assumedRole, federationToken, sessionToken].map((c) => c.credentialType)).toEqual([
      "iam_user",
      "assumed_role",
      "federation_token",
      "session_token",
    ]);
    expect(iamUser.sessionToken).toBeUndefined();
    for (const sts of [assumedRole, federationToken, sessionToken]) expect(sts.sessionToken!.length).toBeGreaterThan(20);

    // TTLs: iam_user and the two 1h STS leases ask for 1h; assumed_role takes the role's defaultStsTtl, 15m.
    for (const c of [iamUser, federationToken, sessionToken]) expectTtl(c, 3600);
    expectTtl(assumedRole, 900);

    expect(federationToken.arn).toMatch(new RegExp(`^arn:aws:sts::${moto().accountId}:federated-user/`));
    expect(assumedRole.arn).toBe(`arn:aws:sts::${moto().accountId}:assumed-role/${roleName}/awslease-example`);
  });

  it("the iam_user key can list users and nothing else; the user carries the role's iamTags", async () => {
    const { iamUser } = outputs;
    const username = iamUser.arn!.split("/").pop()!;
    const tags = await root().send(new ListUserTagsCommand({ UserName: username }));
    expect(tags.Tags).toContainEqual({ Key: "team", Value: "platform" });
    expect(tags.Tags).toContainEqual({ Key: "awslease:lease-id", Value: iamUser.leaseId });

    const key = clients(iamUser.accessKey, iamUser.secretKey);
    await expect(key.iam.send(new ListUsersCommand({}))).resolves.toHaveProperty("Users");
    expect(await errorName(key.iam.send(new ListRolesCommand({})))).toBe("AccessDenied");
  });

  it("the assumed_role credentials act as the role: they can list users and nothing else", async () => {
    const { assumedRole } = outputs;
    const session = clients(assumedRole.accessKey, assumedRole.secretKey, assumedRole.sessionToken);
    const me = await session.sts.send(new GetCallerIdentityCommand({}));
    expect(me.Arn).toBe(assumedRole.arn);
    await expect(session.iam.send(new ListUsersCommand({}))).resolves.toHaveProperty("Users");
    expect(await errorName(session.iam.send(new ListRolesCommand({})))).toBe("AccessDenied");
  });

  it("no secret key or session token is in plaintext in the state, the config or any command output", async () => {
    const state = await project.exportStack();
    const secrets = [moto().secretKey];
    for (const c of Object.values(outputs)) secrets.push(c.secretKey, ...(c.sessionToken ? [c.sessionToken] : []));
    const haystacks = [
      { path: "pulumi stack export", text: JSON.stringify(state) },
      ...project.stateFiles(),
      ...project.transcript.map((text, i) => ({ path: `command output #${i}`, text })),
    ];
    expect(haystacks.some((h) => h.text.includes(outputs.sessionToken.leaseId))).toBe(true);
    for (const { path, text } of haystacks) {
      for (const secret of secrets) expect(text.includes(secret), `a secret in plaintext in ${path}`).toBe(false);
    }

    const stack = resourcesOfType(state, "Stack")[0];
    for (const name of Object.keys(outputs)) {
      const exported = stack.outputs![name];
      expect(exported.accessKey, name).toBe(outputs[name as keyof Outputs].accessKey);
      expect(isEncryptedSecret(exported.secretKey), name).toBe(true);
      if (name !== "iamUser") expect(isEncryptedSecret(exported.sessionToken), name).toBe(true);
    }
    const leases = resourcesOfType(state, "AwsLease");
    expect(leases).toHaveLength(4);
    for (const lease of leases) {
      expect(isEncryptedSecret(lease.outputs!.secretKey), lease.id).toBe(true);
      expect(isEncryptedSecret(lease.outputs!.engine), lease.id).toBe(true);
      if (lease.outputs!.credentialType !== "iam_user") expect(isEncryptedSecret(lease.outputs!.sessionToken), lease.id).toBe(true);
    }
  });

  it("refresh keeps all four leases; the next up would change nothing", async () => {
    await project.refresh();
    const state = await project.exportStack();
    expect(
      resourcesOfType(state, "AwsLease")
        .map((r) => r.id)
        .sort(),
    ).toEqual(
      Object.values(outputs)
        .map((c) => c.leaseId)
        .sort(),
    );
    await project.pulumi(["preview", "--expect-no-changes", "--non-interactive"]);
  });

  it("destroy deletes the IAM user, denies the assumed-role and federated sessions where they come from; a session token outlives it", async () => {
    const username = outputs.iamUser.arn!.split("/").pop()!;
    const { assumedRole, federationToken, sessionToken } = outputs;
    const destroyed = await project.destroy();
    // Revoke says what it did for each.
    expect(destroyed).toContain(`awslease: ${outputs.iamUser.leaseId}: deleted IAM user ${username}`);
    expect(destroyed).toMatch(new RegExp(`awslease: ${assumedRole.leaseId}: denied session AROA[A-Z0-9]+:awslease-example on role ${roleName}`));
    expect(destroyed).toContain(
      `awslease: ${federationToken.leaseId}: denied session ${moto().accountId}:${federationToken.arn!.split("/").pop()} on user root`,
    );
    expect(destroyed).toContain(
      `awslease: ${sessionToken.leaseId}: the credentials stay valid until they expire at ${sessionToken.expiresAt} (a session_token session cannot be told apart from its caller in AWS policies)`,
    );
    const state = await project.exportStack();
    expect(state.deployment.resources ?? []).toEqual([]);

    expect(await errorName(root().send(new GetUserCommand({ UserName: username })))).toMatch(/^NoSuchEntity/);
    const key = clients(outputs.iamUser.accessKey, outputs.iamUser.secretKey);
    expect(await errorName(key.sts.send(new GetCallerIdentityCommand({})))).toBe("InvalidClientTokenId");
    await expect(root().send(new GetRoleCommand({ RoleName: roleName }))).resolves.toHaveProperty("Role");
    // Unlike Vault, the revoked role session is refused what its role allows (GetCallerIdentity never is, in AWS too).
    const session = clients(assumedRole.accessKey, assumedRole.secretKey, assumedRole.sessionToken);
    expect(await errorName(session.iam.send(new ListUsersCommand({})))).toBe("AccessDenied");
    await expect(session.sts.send(new GetCallerIdentityCommand({}))).resolves.toHaveProperty("Arn", assumedRole.arn);
  });
});
