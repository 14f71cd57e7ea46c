// The warm provider process (see warmProvider.ts): the SDK's own Node dynamic provider
// (@pulumi/pulumi/cmd/dynamic-provider), kept running by the server so that engine runs
// attach to it (PULUMI_DEBUG_PROVIDERS) instead of starting Node and @pulumi/pulumi each.
// Three things differ from the stock process:
// - Attach is answered. The SDK answers UNIMPLEMENTED, and the engine fails the run.
// - Every call must come from a process of this user: the gRPC port is on loopback,
//   and a dynamic provider runs whatever serialized code a caller sends it.
// - The server tells it a mount's current root settings before a revoke (the per-run
//   environment variable of a spawned provider never reaches a process already running).
import { createRequire } from "node:module";
import { dirname, join } from "node:path";
import type { MountSettings } from "../../provider/types";
import { loopbackPeerUid } from "./procfs";

type Callback = (err: unknown, value?: unknown) => void;
type Handler = (call: { getPeer(): string }, callback: Callback) => unknown;

const root = process.cwd();
const entry = require.resolve("@pulumi/pulumi/cmd/dynamic-provider", { paths: [root] });
const fromSdk = (id: string) => require(require.resolve(id, { paths: [dirname(entry)] }));
const grpc = fromSdk("@grpc/grpc-js");
const emptyproto = fromSdk("google-protobuf/google/protobuf/empty_pb");
// The same module instance the serialized shim loads (provider/shim.ts).
const runtime = () => createRequire(join(root, "__awslease_provider__.js"))("awslease/provider-runtime") as { setCurrentMountSettings(s: MountSettings): void };

let port = 0;
const uid = process.getuid!();

function sameUser(call: { getPeer(): string }): boolean {
  return loopbackPeerUid(call.getPeer(), port) === uid;
}

const addService = grpc.Server.prototype.addService;
grpc.Server.prototype.addService = function (service: Record<string, unknown>, impl: Record<string, Handler>) {
  if (service && "attach" in service) {
    // The engine sends its own address; the dynamic provider never calls back into it.
    impl.attach = (_call, callback) => callback(null, new emptyproto.Empty());
    for (const name of Object.keys(service)) {
      const method = impl[name];
      if (typeof method !== "function") continue;
      const bound = method.bind(impl);
      impl[name] = (call, callback) => {
        if (!sameUser(call))
          return callback({ code: grpc.status.PERMISSION_DENIED, details: "awslease warm provider: only processes of this user may call it" });
        return bound(call, callback);
      };
    }
  }
  return addService.call(this, service, impl);
};

const bindAsync = grpc.Server.prototype.bindAsync;
grpc.Server.prototype.bindAsync = function (address: string, creds: unknown, callback: (err: Error | null, port: number) => void) {
  return bindAsync.call(this, address, creds, (err: Error | null, bound: number) => {
    if (!err) {
      port = bound;
      process.send?.({ type: "ready", port: bound });
    }
    callback(err, bound);
  });
};

process.on("message", (message: { type?: string; id?: number; settings?: MountSettings }) => {
  if (message?.type === "mountSettings" && message.settings) {
    runtime().setCurrentMountSettings(message.settings);
    process.send?.({ type: "ack", id: message.id });
  }
});
// The server is gone: so is this process.
process.on("disconnect", () => process.exit(0));

// The SDK's main() wants the engine's address as its argument and does not use it.
process.argv = [process.argv[0], entry, "127.0.0.1:0"];
require(entry);
