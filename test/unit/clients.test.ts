// clients.ts: the one place AWS clients are built, and passed to the AWS functions.
import { describe, expect, it, vi } from "vitest";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { DeleteUserCommand, IAMClient, ListAccessKeysCommand } from "@aws-sdk/client-iam";
import { STSClient } from "@aws-sdk/client-sts";
import { awsClients, withAwsClients } from "../../provider/aws/clients";
import { revokeIamUser } from "../../provider/aws/iamUser";
import { callerIdentity } from "../../provider/aws/sts";
import { createServer, request, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { mountSettings } from "../support/fixtures";

const engine = mountSettings({
  accessKey: "AKIAEXAMPLE",
  secretKey: "secret",
  region: "eu-west-1",
  iamEndpoint: "http://127.0.0.1:1",
  stsEndpoint: "http://127.0.0.1:1",
  leaseMaxSeconds: 0,
});
const version = (JSON.parse(readFileSync(join(__dirname, "../../package.json"), "utf8")) as { version: string }).version;

describe("AWS clients", () => {
  it("carry awslease/<version> in their user agent (CloudTrail shows which calls were awslease's)", async () => {
    const clients = awsClients(engine);
    try {
      expect(clients.iam.config.customUserAgent).toEqual([["awslease", version]]);
      expect(clients.sts.config.customUserAgent).toEqual([["awslease", version]]);
      expect(await clients.iam.config.region()).toBe("eu-west-1");
    } finally {
      clients.destroy();
    }
  });

  it("are built when first used, and destroyed together by withAwsClients", async () => {
    const iamDestroy = vi.spyOn(IAMClient.prototype, "destroy");
    const stsDestroy = vi.spyOn(STSClient.prototype, "destroy");
    let built: IAMClient | undefined;
    try {
      await withAwsClients(engine, async (clients) => {
        built = clients.iam;
        expect(clients.iam).toBe(built); // one client per operation, not one per call
      });
      expect(built).toBeInstanceOf(IAMClient);
      expect(iamDestroy.mock.contexts).toEqual([built]);
      // STS was never used, so never built.
      expect(stsDestroy).not.toHaveBeenCalled();
      // Also when fn throws.
      await expect(withAwsClients(engine, async (clients) => Promise.reject(new Error(`boom ${typeof clients.sts}`)))).rejects.toThrow("boom object");
      expect(stsDestroy).toHaveBeenCalledTimes(1);
    } finally {
      iamDestroy.mockRestore();
      stsDestroy.mockRestore();
    }
  });

  it("are passed in: the IAM-user teardown runs against whatever client it is given", async () => {
    const sent: string[] = [];
    const fake = {
      send: async (command: { constructor: { name: string } }) => {
        sent.push(command.constructor.name);
        if (command instanceof ListAccessKeysCommand) return { AccessKeyMetadata: [], IsTruncated: false };
        if (command instanceof DeleteUserCommand) return {};
        return { IsTruncated: false };
      },
    } as unknown as IAMClient;
    expect(await revokeIamUser({ iam: fake }, "u1")).toEqual({ existed: true });
    expect(sent[0]).toBe("ListAccessKeysCommand");
    expect(sent.at(-1)).toBe("DeleteUserCommand");
  });

  it("go through HTTP(S)_PROXY, except for NO_PROXY hosts", async () => {
    // A fake STS endpoint, and a forward proxy that records what it forwards.
    const identity =
      '<GetCallerIdentityResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/"><GetCallerIdentityResult>' +
      "<Arn>arn:aws:iam::123456789012:user/x</Arn><UserId>AIDX</UserId><Account>123456789012</Account>" +
      "</GetCallerIdentityResult><ResponseMetadata><RequestId>r</RequestId></ResponseMetadata></GetCallerIdentityResponse>";
    const sts = createServer((_req, res) => res.writeHead(200, { "content-type": "text/xml" }).end(identity));
    const proxied: string[] = [];
    const proxy = createServer((req, res) => {
      proxied.push(req.url ?? "");
      const target = new URL(req.url ?? "");
      const upstream = request(
        { host: target.hostname, port: target.port, path: target.pathname + target.search, method: req.method, headers: req.headers },
        (r) => {
          res.writeHead(r.statusCode ?? 502, r.headers);
          r.pipe(res);
        },
      );
      req.pipe(upstream);
    });
    const listen = (server: Server) => new Promise<number>((resolve) => server.listen(0, "127.0.0.1", () => resolve((server.address() as AddressInfo).port)));
    const [stsPort, proxyPort] = [await listen(sts), await listen(proxy)];
    const settings = { ...engine, stsEndpoint: `http://127.0.0.1:${stsPort}` };
    const saved = { HTTP_PROXY: process.env.HTTP_PROXY, NO_PROXY: process.env.NO_PROXY };
    try {
      process.env.HTTP_PROXY = `http://127.0.0.1:${proxyPort}`;
      delete process.env.NO_PROXY;
      expect(await withAwsClients(settings, (c) => callerIdentity(c))).toMatchObject({ accountId: "123456789012" });
      expect(proxied).toEqual([`http://127.0.0.1:${stsPort}/`]);
      process.env.NO_PROXY = "127.0.0.1";
      expect(await withAwsClients(settings, (c) => callerIdentity(c))).toMatchObject({ accountId: "123456789012" });
      expect(proxied).toHaveLength(1);
    } finally {
      for (const [k, v] of Object.entries(saved)) {
        if (v === undefined) delete process.env[k];
        else process.env[k] = v;
      }
      sts.close();
      proxy.close();
    }
  });
});
