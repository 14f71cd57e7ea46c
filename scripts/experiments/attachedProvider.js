// Experiment (not shipped): a long-running Node dynamic-provider process that the
// engine can attach to with PULUMI_DEBUG_PROVIDERS=pulumi-nodejs:<port>.
//
//   node scripts/experiments/attachedProvider.js [--stock]
//
// Prints the gRPC port on its first stdout line (as the stock provider does) and then
// serves until killed. It runs the SDK's own provider
// (@pulumi/pulumi/cmd/dynamic-provider/index.js) unchanged, with one difference: the
// stock server answers the engine's Attach RPC with UNIMPLEMENTED ("Attach is not
// implemented by the dynamic provider"), and the engine (pkg/resource/plugin/
// provider_plugin.go NewProvider -> p.Attach) turns that into a failed run. Here Attach
// is answered with Empty. --stock keeps the SDK's answer (to show the failure).
//
// The engine starts a provider with cwd = the project's main directory and
// PULUMI_NODEJS_PROJECT / PULUMI_PROJECT / PULUMI_CONFIG in its environment; an
// attached provider gets none of that, so this sets cwd and the project itself.
"use strict";
const path = require("node:path");

const packageRoot = process.env.AWSLEASE_ROOT ? path.resolve(process.env.AWSLEASE_ROOT) : path.resolve(__dirname, "../..");
process.chdir(packageRoot);
process.env.PULUMI_NODEJS_PROJECT ??= "awslease";
process.env.PULUMI_PROJECT ??= "awslease";

const entry = require.resolve("@pulumi/pulumi/cmd/dynamic-provider", { paths: [packageRoot] });
const fromSdk = (id) => require(require.resolve(id, { paths: [path.dirname(entry)] }));

if (!process.argv.includes("--stock")) {
  const grpc = fromSdk("@grpc/grpc-js");
  const emptyproto = fromSdk("google-protobuf/google/protobuf/empty_pb");
  const addService = grpc.Server.prototype.addService;
  grpc.Server.prototype.addService = function (service, impl) {
    if (service && service.attach && impl && typeof impl.attach === "function") {
      // The engine sends its own address; the dynamic provider never calls back into the
      // engine (it logs to stderr), so there is nothing to record.
      impl.attach = (call, callback) => callback(null, new emptyproto.Empty());
      // Crash experiment: hold each Create's answer (after the IAM user exists) so the
      // process can be killed while the engine waits for it.
      const hold = Number(process.env.ATTACHED_PROVIDER_HOLD_CREATE_MS ?? 0);
      if (hold > 0) {
        const create = impl.create.bind(impl);
        impl.create = (call, callback) =>
          create(call, (...answer) => {
            console.error(`[attached provider] create answered (${answer[0] ? "error" : "ok"}); holding ${hold} ms`);
            setTimeout(() => callback(...answer), hold);
          });
      }
      if (process.env.ATTACHED_PROVIDER_LOG_CONFIGURE) {
        const configure = impl.configure.bind(impl);
        impl.configure = (call, callback) => {
          console.error(`[attached provider] Configure: ${Object.keys(call.request.getArgs().toJavaScript()).join(",")}`);
          return configure(call, callback);
        };
      }
    }
    return addService.call(this, service, impl);
  };
}

// The SDK's main() wants one argument (the engine address) and exits without it; it
// does not use it. Requiring the module starts the server and prints the port.
process.argv = [process.argv[0], entry, "127.0.0.1:0"];
require(entry);
