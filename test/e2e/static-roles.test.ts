// Static roles through the real CLI and engine against moto (which enforces IAM): the
// first key, static-creds in every format, manual and scheduled rotation with the old
// key retired then deleted, a user that already has two keys, a user deleted or
// re-created behind awslease's back, delete keeping the user, and a reader polling
// static-creds through rotations.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  CreateAccessKeyCommand,
  CreateUserCommand,
  DeleteAccessKeyCommand,
  DeleteUserCommand,
  ListAccessKeysCommand,
  PutUserPolicyCommand,
} from "@aws-sdk/client-iam";
import { GetCallerIdentityCommand } from "@aws-sdk/client-sts";
import { allowPolicy, cliRunner, configureMount, errorLines, filesContaining, ok, rootClients, type Runner } from "../support/cli";
import { clients, errorName, uniq } from "../support/aws";

let runner: Runner;

interface Creds {
  data: { access_key: string; secret_key: string; expiration: string };
}

/** A bare IAM user, as one made out of band, allowed sts:GetCallerIdentity. */
async function serviceUser(name = uniq("svc")): Promise<string> {
  const { iam } = rootClients();
  await iam.send(new CreateUserCommand({ UserName: name }));
  await iam.send(new PutUserPolicyCommand({ UserName: name, PolicyName: "whoami", PolicyDocument: allowPolicy(["sts:GetCallerIdentity"]) }));
  return name;
}

/** Every secret key handed out, for the plaintext scan at the end. */
const secrets: string[] = [];

async function creds(name: string): Promise<Creds["data"]> {
  const data = (JSON.parse(await ok(runner.run(["static-creds", name, "--format", "json"]))) as Creds).data;
  if (!secrets.includes(data.secret_key)) secrets.push(data.secret_key);
  return data;
}

/** The ARN the key authenticates as, or the error's name (e.g. InvalidClientTokenId). */
async function whoami(accessKey: string, secretKey: string): Promise<string> {
  try {
    return (await clients(accessKey, secretKey).sts.send(new GetCallerIdentityCommand({}))).Arn ?? "";
  } catch (err) {
    return `error:${await errorName(Promise.reject(err))}`;
  }
}

async function keysOf(user: string): Promise<string[]> {
  const r = await rootClients().iam.send(new ListAccessKeysCommand({ UserName: user }));
  return (r.AccessKeyMetadata ?? []).map((k) => k.AccessKeyId!).sort();
}

beforeAll(async () => {
  runner = cliRunner();
  await ok(configureMount(runner));
});

afterAll(() => runner?.cleanup());

describe("static roles", () => {
  let user: string;
  let first: Creds["data"];

  it("write makes the first key; static-creds hands it out and it works; read and list show the role without its secret", async () => {
    user = await serviceUser();
    const w = await runner.run(["static-role", "write", "svc", "--username", user, "--rotation-period", "1m"]);
    expect(w.code, w.stderr).toBe(0);
    first = await creds("svc");
    expect(first.access_key).toMatch(/^AKIA/);
    expect(await whoami(first.access_key, first.secret_key)).toMatch(new RegExp(`:user/${user}$`));
    expect(await keysOf(user)).toEqual([first.access_key]);
    const read = JSON.parse(await ok(runner.run(["static-role", "read", "svc", "--format", "json"])));
    expect(read).toMatchObject({ name: "svc", username: user, rotation_period: "1m0s", access_key: first.access_key });
    expect(JSON.stringify(read)).not.toContain(first.secret_key);
    expect(JSON.parse(await ok(runner.run(["static-role", "list", "--format", "json"])))).toEqual(["svc"]);
    // The shell formats carry the same key.
    expect(await ok(runner.run(["static-creds", "svc", "--format", "env"]))).toContain(`export AWS_ACCESS_KEY_ID='${first.access_key}'`);
    expect(await ok(runner.run(["static-creds", "svc", "-field", "secret_key"]))).toBe(`${first.secret_key}\n`);
    const cp = JSON.parse(await ok(runner.run(["static-creds", "svc", "--format", "credential-process"])));
    expect(cp).toMatchObject({ Version: 1, AccessKeyId: first.access_key, Expiration: first.expiration });
  });

  it("bad input is one line and exit 1 before any AWS call; a user that does not exist is exit 2; no role is left", async () => {
    for (const [args, pattern] of [
      [["static-role", "write", "x", "--username", "nobody-" + uniq("u")], /--rotation-period: is required/],
      [["static-role", "write", "x", "--username", "u", "--rotation-period", "10s"], /--rotation-period: must be at least 1m/],
      [["static-creds", "nope"], /no static role "nope"/],
    ] as const) {
      const r = await runner.run([...args]);
      expect(r.code, r.stderr).toBe(1);
      expect(errorLines(r.stderr)).toEqual([expect.stringMatching(pattern)]);
    }
    const missing = await runner.run(["static-role", "write", "ghost", "--username", uniq("ghost"), "--rotation-period", "1h", "--quiet"]);
    expect(missing.code).toBe(2);
    expect(errorLines(missing.stderr)).toEqual([expect.stringMatching(/iam:GetUser failed: NoSuchEntity: there is no IAM user/)]);
    expect(JSON.parse(await ok(runner.run(["static-role", "list", "--format", "json"])))).toEqual(["svc"]);
  });

  it("rotate: a new key that works, and the old one still works (retired) until the next run after a minute", async () => {
    await ok(runner.run(["static-role", "rotate", "svc"]));
    const second = await creds("svc");
    expect(second.access_key).not.toBe(first.access_key);
    expect(await whoami(second.access_key, second.secret_key)).toMatch(/:user\//);
    expect(await whoami(first.access_key, first.secret_key)).toMatch(/:user\//);
    expect(await keysOf(user)).toEqual([first.access_key, second.access_key].sort());
    // Nothing is due yet.
    const due = JSON.parse(await ok(runner.run(["static-role", "rotate", "--due", "--format", "json"])));
    expect(due).toEqual([]);
  });

  it("rotate --due after the period: rotated on schedule, the first key is deleted and rejected, never more than two keys", async () => {
    const second = await creds("svc");
    await new Promise((r) => setTimeout(r, 61_000));
    const due = JSON.parse(await ok(runner.run(["static-role", "rotate", "--due", "--format", "json"])));
    expect(due).toEqual([{ name: "svc", action: "rotate", ok: true, error: null }]);
    const third = await creds("svc");
    expect(third.access_key).not.toBe(second.access_key);
    expect(await whoami(first.access_key, first.secret_key)).toBe("error:InvalidClientTokenId");
    expect(await whoami(second.access_key, second.secret_key)).toMatch(/:user\//);
    expect(await whoami(third.access_key, third.secret_key)).toMatch(/:user\//);
    expect(await keysOf(user)).toEqual([second.access_key, third.access_key].sort());
  });

  it("a reader polling static-creds through 5 rotations never gets a key that fails", async () => {
    let stop = false;
    const seen = new Set<string>();
    const failures: string[] = [];
    const reader = (async () => {
      while (!stop) {
        const c = await creds("svc");
        seen.add(c.access_key);
        const who = await whoami(c.access_key, c.secret_key);
        if (who.startsWith("error:")) failures.push(`${c.access_key}: ${who}`);
      }
    })();
    for (let i = 0; i < 5; i++) {
      await ok(runner.run(["static-role", "rotate", "svc"]));
      // Rotations a few seconds apart, as a schedule would never be closer.
      await new Promise((r) => setTimeout(r, 3_000));
    }
    stop = true;
    await reader;
    expect(failures).toEqual([]);
    expect(seen.size).toBeGreaterThanOrEqual(5);
    expect((await keysOf(user)).length).toBeLessThanOrEqual(2);
  });

  it("a user that already has two keys loses the oldest, as in Vault", async () => {
    const busy = await serviceUser();
    const { iam } = rootClients();
    const older = (await iam.send(new CreateAccessKeyCommand({ UserName: busy }))).AccessKey!.AccessKeyId!;
    await new Promise((r) => setTimeout(r, 1_100));
    const newer = (await iam.send(new CreateAccessKeyCommand({ UserName: busy }))).AccessKey!.AccessKeyId!;
    await ok(runner.run(["static-role", "write", "busy", "--username", busy, "--rotation-period", "1h"]));
    const mine = await creds("busy");
    expect(await keysOf(busy)).toEqual([newer, mine.access_key].sort());
    expect(await keysOf(busy)).not.toContain(older);
  });

  it("delete removes the keys awslease made and keeps the user", async () => {
    const keys = await keysOf(user);
    await ok(runner.run(["static-role", "delete", "svc"]));
    expect(await keysOf(user)).toEqual([]);
    expect(keys.length).toBeGreaterThan(0);
    expect(JSON.parse(await ok(runner.run(["static-role", "list", "--format", "json"])))).toEqual(["busy"]);
    // The user is still there: a new key can be made for it.
    await rootClients().iam.send(new CreateAccessKeyCommand({ UserName: user }));
  });

  it("a user deleted out of band, or re-created under the same name: rotate fails with one line, exit 2, and takes over nothing", async () => {
    const gone = await serviceUser();
    await ok(runner.run(["static-role", "write", "gone", "--username", gone, "--rotation-period", "1h"]));
    const { iam } = rootClients();
    const dropUser = async () => {
      for (const k of await keysOf(gone)) await iam.send(new DeleteAccessKeyCommand({ UserName: gone, AccessKeyId: k }));
      await iam.send(new (await import("@aws-sdk/client-iam")).DeleteUserPolicyCommand({ UserName: gone, PolicyName: "whoami" }));
      await iam.send(new DeleteUserCommand({ UserName: gone }));
    };
    await dropUser();
    const r1 = await runner.run(["static-role", "rotate", "gone", "--quiet"]);
    expect(r1.code).toBe(2);
    expect(errorLines(r1.stderr)).toEqual([expect.stringMatching(new RegExp(`iam:GetUser failed: NoSuchEntity: IAM user ${gone} no longer exists`))]);
    await serviceUser(gone);
    const foreign = (await iam.send(new CreateAccessKeyCommand({ UserName: gone }))).AccessKey!.AccessKeyId!;
    const r2 = await runner.run(["static-role", "rotate", "gone", "--quiet"]);
    expect(r2.code).toBe(2);
    expect(errorLines(r2.stderr)).toEqual([expect.stringMatching(/was deleted and re-created \(UserId .* is now .*\)/)]);
    expect(await keysOf(gone)).toEqual([foreign]);
    // Deleting the role does not touch the new user's key either.
    await ok(runner.run(["static-role", "delete", "gone"]));
    expect(await keysOf(gone)).toEqual([foreign]);
  });

  it("no secret key handed out is in plaintext anywhere under AWSLEASE_HOME (state, history, logs)", () => {
    expect(secrets.length).toBeGreaterThanOrEqual(8);
    expect(filesContaining(runner.home, secrets)).toEqual([]);
  });
});
