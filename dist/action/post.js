// The action's post step (see action.yml); built by scripts/buildAction.ts.
require("./index.js").runStep("post");
