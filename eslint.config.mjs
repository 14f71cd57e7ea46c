// ESLint for the TypeScript sources and tests (npm test runs it, with prettier --check).
import js from "@eslint/js";
import tseslint from "typescript-eslint";

export default tseslint.config(
  // Built output, other projects (examples, the Go language host), the UI's browser script
  // (checked by its own browser tests) and measurement scripts that are not shipped.
  { ignores: ["dist/**", "node_modules/**", "examples/**", "tools/**", "server/ui/**", "scripts/experiments/**", "bin/**"] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    rules: {
      // Commands, the engine and the AWS SDK are loaded with require() where they are
      // needed, so `--help` and usage errors never load them (cli/main.ts).
      "@typescript-eslint/no-require-imports": "off",
      // `_name` marks a value left unused on purpose (destructuring it away).
      "@typescript-eslint/no-unused-vars": ["error", { argsIgnorePattern: "^_", varsIgnorePattern: "^_", destructuredArrayIgnorePattern: "^_" }],
    },
  },
  {
    // Test doubles (aws-sdk-client-mock handlers) and parsed JSON answers are loosely typed on purpose.
    files: ["test/**/*.ts"],
    rules: { "@typescript-eslint/no-explicit-any": "off" },
  },
);
