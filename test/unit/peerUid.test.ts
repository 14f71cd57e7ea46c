// loopbackPeerUid: who is at the other end of a loopback connection, from /proc/net/tcp.
// The warm provider (service/pulumi/warmProvider.ts) lets only this user's processes call it.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createServer, connect, type Server, type Socket } from "node:net";
import { loopbackPeerUid } from "../../service/pulumi/procfs";

let server: Server;
let client: Socket;
let serverPort = 0;
let clientPort = 0;

beforeAll(async () => {
  server = createServer(() => undefined);
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  serverPort = (server.address() as { port: number }).port;
  client = connect(serverPort, "127.0.0.1");
  await new Promise<void>((r) => client.once("connect", r));
  clientPort = client.localPort!;
});

afterAll(() => {
  client.destroy();
  server.close();
});

describe("loopbackPeerUid", () => {
  it("names this process's uid for its own connection, in both of gRPC's peer forms", () => {
    expect(loopbackPeerUid(`ipv4:127.0.0.1:${clientPort}`, serverPort)).toBe(process.getuid!());
    expect(loopbackPeerUid(`127.0.0.1:${clientPort}`, serverPort)).toBe(process.getuid!());
  });

  it("knows no connection that is not there, and no peer off 127.0.0.1", () => {
    expect(loopbackPeerUid(`127.0.0.1:${clientPort}`, serverPort + 1 === 65536 ? 1 : serverPort + 1)).toBeUndefined();
    expect(loopbackPeerUid(`ipv6:[::1]:${clientPort}`, serverPort)).toBeUndefined();
    expect(loopbackPeerUid(`10.0.0.1:${clientPort}`, serverPort)).toBeUndefined();
    expect(loopbackPeerUid("unix:/tmp/x", serverPort)).toBeUndefined();
  });
});
