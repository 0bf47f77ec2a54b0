import type { TestProject } from 'vitest/node';
import { startInfra, type InfraUrls, type StartedInfra } from './infra.ts';

declare module 'vitest' {
  export interface ProvidedContext {
    infra: InfraUrls;
  }
}

/** One infrastructure for every project of a run (each project runs this setup). */
let shared: Promise<StartedInfra> | undefined;
let projects = 0;

/** Vitest global setup: resolves (or starts) the infrastructure once per run and hands its URLs to every test file. */
export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  projects++;
  shared ??= startInfra();
  project.provide('infra', (await shared).urls);
  return async () => {
    if (--projects > 0 || !shared) return;
    const infra = shared;
    shared = undefined;
    await (await infra).stop();
  };
}
