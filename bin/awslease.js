#!/usr/bin/env node
// The awslease CLI (compiled from cli/). Run `npm run setup` first in a checkout.
// V8 compile cache (Node >= 22.1): later runs load @pulumi/pulumi and the AWS SDK faster.
require("node:module").enableCompileCache?.();
require("../dist/cli/main.js").main(process.argv.slice(2));
