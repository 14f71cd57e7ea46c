// Two CI "runners" (two AWSLEASE_HOME dirs, nothing shared but the passphrase) using one
// S3 state backend on moto: a lease issued on A is listed and revoked on B. Then 10
// parallel `issue` processes on that backend: all succeed with distinct leases. The
// backend's own credentials are an IAM user that may only use the state bucket, as a
// CI setup would have them; moto enforces that policy too.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { CreateBucketCommand, GetObjectCommand, ListObjectsV2Command, S3Client } from "@aws-sdk/client-s3";
import { GetCallerIdentityCommand } from "@aws-sdk/client-sts";
import { CreateAccessKeyCommand, CreateUserCommand, PutUserPolicyCommand } from "@aws-sdk/client-iam";
import { clients, moto, uniq, errorName } from "../support/aws";
import { allowPolicy, cliRunner, configureMount, filesContaining, ok, taggedUsers, userExists, type Runner } from "../support/cli";

const mount = uniq("shared");
const bucket = uniq("awslease-state");
let s3: S3Client;
let backend: string;
let runnerA: Runner;
let runnerB: Runner;
const secrets: string[] = [];

beforeAll(async () => {
  const m = moto();
  const { iam } = clients();
  const stateUser = uniq("state-backend");
  await iam.send(new CreateUserCommand({ UserName: stateUser }));
  await iam.send(
    new PutUserPolicyCommand({
      UserName: stateUser,
      PolicyName: "state-bucket-only",
      PolicyDocument: JSON.stringify({
        Version: "2012-10-17",
        Statement: [{ Effect: "Allow", Action: "s3:*", Resource: [`arn:aws:s3:::${bucket}`, `arn:aws:s3:::${bucket}/*`] }],
      }),
    }),
  );
  const key = (await iam.send(new CreateAccessKeyCommand({ UserName: stateUser }))).AccessKey!;
  const stateCreds = { accessKeyId: key.AccessKeyId!, secretAccessKey: key.SecretAccessKey! };
  // The bucket is made with the root keys; the runners only ever get stateCreds.
  const admin = new S3Client({
    endpoint: m.endpoint,
    region: m.region,
    forcePathStyle: true,
    credentials: { accessKeyId: m.accessKey, secretAccessKey: m.secretKey },
  });
  await admin.send(new CreateBucketCommand({ Bucket: bucket }));
  admin.destroy();
  s3 = new S3Client({ endpoint: m.endpoint, region: m.region, forcePathStyle: true, credentials: stateCreds });
  // gocloud.dev s3blob URL (the version pulumi 3.259 links): endpoint is a full URL,
  // use_path_style for a path-style endpoint; credentials from the standard AWS env.
  backend = `s3://${bucket}?endpoint=${encodeURIComponent(m.endpoint)}&use_path_style=true&region=${m.region}`;
  const backendCreds = { AWS_ACCESS_KEY_ID: stateCreds.accessKeyId, AWS_SECRET_ACCESS_KEY: stateCreds.secretAccessKey };
  runnerA = cliRunner({ backend, mount, env: backendCreds });
  runnerB = cliRunner({ backend, mount, env: backendCreds });
});

afterAll(async () => {
  await runnerA?.run(["lease", "revoke", "--prefix", `${mount}/`, "--quiet"]).catch(() => undefined);
  runnerA?.cleanup();
  runnerB?.cleanup();
  s3?.destroy();
});

async function listIds(r: Runner): Promise<string[]> {
  return JSON.parse(await ok(r.run(["lease", "list", "--format", "json"]))).map((l: { lease_id: string }) => l.lease_id);
}

/** Every object of the state bucket, as text. */
async function bucketObjects(): Promise<Array<[string, string]>> {
  const out: Array<[string, string]> = [];
  let token: string | undefined;
  do {
    const page = await s3.send(new ListObjectsV2Command({ Bucket: bucket, ContinuationToken: token }));
    for (const o of page.Contents ?? []) {
      const body = await s3.send(new GetObjectCommand({ Bucket: bucket, Key: o.Key! }));
      out.push([o.Key!, await body.Body!.transformToString()]);
    }
    token = page.IsTruncated ? page.NextContinuationToken : undefined;
  } while (token);
  return out;
}

describe("two runners sharing an S3 backend", () => {
  let lease: { lease_id: string; data: { access_key: string; secret_key: string; arn: string } };

  it("runner A: config write, role write, issue", async () => {
    await ok(configureMount(runnerA));
    await ok(runnerA.run(["role", "write", "ci", "--credential-type", "iam_user", "--policy-document", allowPolicy(["iam:ListUsers"])]));
    lease = JSON.parse(await ok(runnerA.run(["issue", "ci", "--format", "json", "--ttl", "1h"])));
    secrets.push(lease.data.secret_key);
    expect(lease.lease_id).toMatch(new RegExp(`^${mount}/creds/ci/`));
    // The state is in the bucket, not in A's home.
    const keys = (await bucketObjects()).map(([k]) => k);
    expect(keys.some((k) => k.includes(`lease-${mount}-`))).toBe(true);
    expect(keys.some((k) => k.includes(`mount-${mount}`))).toBe(true);
  });

  it("runner B (another home, nothing local): sees the role and the lease", async () => {
    expect(JSON.parse(await ok(runnerB.run(["role", "list", "--format", "json"])))).toEqual(["ci"]);
    expect(await listIds(runnerB)).toEqual([lease.lease_id]);
    // The table is read from the bucket itself: no engine process (a pulumi that fails
    // at once changes nothing), and no passphrase needed beyond being set.
    const noEngine = { AWSLEASE_PULUMI: "/bin/false", PULUMI_CONFIG_PASSPHRASE: "not-needed-to-list" };
    const listed = JSON.parse(await ok(runnerB.run(["lease", "list", "--format", "json"], { env: noEngine })));
    expect(listed.map((l: { lease_id: string }) => l.lease_id)).toEqual([lease.lease_id]);
    expect(JSON.parse(await ok(runnerB.run(["lease", "lookup", lease.lease_id, "--format", "json"], { env: noEngine }))).id).toBe(lease.lease_id);
    const body = JSON.parse(await ok(runnerB.run(["lease", "lookup", lease.lease_id, "--format", "json"])));
    expect(body).toMatchObject({ id: lease.lease_id, role: "ci", lease_duration: 3600 });
  });

  it("runner B revokes it: the key is dead, the user gone, and runner A no longer lists it", async () => {
    const r = await runnerB.run(["lease", "revoke", lease.lease_id]);
    expect(r.code).toBe(0);
    expect(r.stderr).toContain(`revoked ${lease.lease_id}`);
    expect(await userExists(lease.data.arn.split("/").pop()!)).toBe(false);
    expect(await errorName(clients(lease.data.access_key, lease.data.secret_key).sts.send(new GetCallerIdentityCommand({})))).toBe("InvalidClientTokenId");
    expect(await listIds(runnerA)).toEqual([]);
    // Nothing of the revoked lease stays in the bucket (no stack file, backup or history)
    // but its two lease log entries.
    const key = lease.lease_id.split("/").pop()!;
    const left = (await bucketObjects()).filter(([k]) => k.includes(key));
    expect(left.map(([k]) => k.replace(/\/\d{8}T\d+Z-(\w+)-.*$/, "/$1"))).toEqual([
      `.awslease/lease-log/${mount}/issued`,
      `.awslease/lease-log/${mount}/revoked`,
    ]);
    // Runner A reads the log B wrote to: who issued and who revoked, no secret.
    const log = JSON.parse(await ok(runnerA.run(["lease", "log", "--format", "json"])));
    expect(log).toEqual([expect.objectContaining({ lease_id: lease.lease_id, revoked_by: "cli", username: lease.data.arn.split("/").pop() })]);
  });
});

describe("10 parallel issue processes", () => {
  it("all succeed with 10 distinct lease ids and 10 distinct IAM users; revoke --prefix cleans all", async () => {
    const results = await Promise.all(
      Array.from({ length: 10 }, (_, i) =>
        (i % 2 === 0 ? runnerA : runnerB).run(["issue", "ci", "--no-wait", "--format", "json", "--quiet"], { timeoutMs: 280_000 }),
      ),
    );
    for (const r of results) expect(r.code, r.stderr).toBe(0);
    const leases = results.map((r) => JSON.parse(r.stdout));
    for (const l of leases) secrets.push(l.data.secret_key);
    const ids = leases.map((l) => l.lease_id);
    expect(new Set(ids).size).toBe(10);
    const users = leases.map((l) => l.data.arn);
    expect(new Set(users).size).toBe(10);
    expect(new Set(leases.map((l) => l.data.access_key)).size).toBe(10);
    expect((await listIds(runnerB)).sort()).toEqual([...ids].sort());
    expect((await taggedUsers({ mount })).sort()).toEqual(users.map((a) => a.split("/").pop()).sort());

    const r = await runnerA.run(["lease", "revoke", "--prefix", `${mount}/creds/ci/`]);
    expect(r.code).toBe(0);
    for (const id of ids) expect(r.stderr).toContain(`revoked ${id}`);
    expect(await listIds(runnerB)).toEqual([]);
    expect(await taggedUsers({ mount })).toEqual([]);
    // Of all that state, only the mount's stack (and its history) is left in the bucket.
    expect((await bucketObjects()).map(([k]) => k).filter((k) => k.includes(`lease-${mount}-`))).toEqual([]);
  });
});

describe("no secret in plaintext", () => {
  it("neither the state bucket nor either home holds the root secret or an issued secret key", async () => {
    expect(secrets).toHaveLength(11);
    const needles = [moto().secretKey, ...secrets];
    const objects = await bucketObjects();
    expect(objects.length).toBeGreaterThan(0);
    expect(objects.filter(([, text]) => needles.some((n) => text.includes(n))).map(([k]) => k)).toEqual([]);
    for (const home of [runnerA.home, runnerB.home]) {
      expect(filesContaining(home, needles)).toEqual([]);
    }
  });
});
