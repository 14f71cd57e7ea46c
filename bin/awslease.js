#!/usr/bin/env node
// The awslease CLI (compiled from cli/). Run `npm run setup` first in a checkout.
require("../dist/cli/main.js").main(process.argv.slice(2));
