// The action's main step (see action.yml); built by scripts/buildAction.ts.
require("./index.js").runStep("main");
