// vitest globalSetup: one real moto server per test run (see scripts/localMoto.ts);
// tests get its endpoint and root keys through inject("moto").
import type { TestProject } from "vitest/node";
import { startMoto, type MotoInfo } from "../../scripts/localMoto";

export type { MotoInfo };

declare module "vitest" {
  export interface ProvidedContext {
    moto: MotoInfo;
  }
}

export default async function setup(project: TestProject) {
  const { info, stop } = await startMoto();
  project.provide("moto", info);
  return stop;
}
