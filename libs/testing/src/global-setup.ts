import type { TestProject } from 'vitest/node';
import { startInfra, type InfraUrls } from './infra.ts';

declare module 'vitest' {
  export interface ProvidedContext {
    infra: InfraUrls;
  }
}

/** Vitest global setup: resolves (or starts) the infrastructure once per run and hands its URLs to every test file. */
export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  const infra = await startInfra();
  project.provide('infra', infra.urls);
  return () => infra.stop();
}
