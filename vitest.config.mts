import { defineConfig } from "vitest/config";

// Three layers, all run by `npm test`:
//   unit         aws-sdk-client-mock and pure logic, no processes
//   integration  provider code against a real moto server over HTTP
//   e2e          the real `pulumi` binary (Automation API and `pulumi up`) against moto
export default defineConfig({
  test: {
    projects: [
      {
        test: { name: "unit", include: ["test/unit/**/*.test.ts"], testTimeout: 20_000 },
      },
      {
        test: {
          name: "integration",
          include: ["test/integration/**/*.test.ts"],
          globalSetup: ["test/support/moto.ts"],
          testTimeout: 120_000,
          hookTimeout: 60_000,
        },
      },
      {
        test: {
          name: "e2e",
          include: ["test/e2e/**/*.test.ts"],
          globalSetup: ["test/support/moto.ts", "test/support/pulumi.ts"],
          testTimeout: 300_000,
          hookTimeout: 300_000,
          // The engine runs are heavy on a 2-core machine; files run one at a time.
          fileParallelism: false,
        },
      },
    ],
  },
});
