import type { z } from 'zod';

/** A configuration that failed to parse, naming every bad or missing variable at once. */
export class ConfigError extends Error {
  readonly problems: readonly string[];

  constructor(service: string, problems: readonly string[]) {
    super(`${service}: invalid configuration:\n${problems.map((p) => `  - ${p}`).join('\n')}`);
    this.name = 'ConfigError';
    this.problems = problems;
  }
}

type Env = Record<string, string | undefined>;

/**
 * Parses a service's environment once. Empty strings count as unset, so `FOO=` in a compose file falls
 * back to the default instead of failing as an invalid number.
 */
export function loadConfig<S extends z.ZodType>(service: string, schema: S, env: Env = process.env): z.output<S> {
  const cleaned: Env = {};
  for (const [key, value] of Object.entries(env)) {
    if (value !== undefined && value.trim() !== '') cleaned[key] = value;
  }
  const result = schema.safeParse(cleaned);
  if (result.success) return result.data;
  const problems = result.error.issues.map((issue) => {
    const variable = issue.path.length > 0 ? issue.path.join('.') : '(environment)';
    const value = issue.path.length === 1 ? cleaned[String(issue.path[0])] : undefined;
    return value === undefined ? `${variable}: ${issue.message}` : `${variable}=${JSON.stringify(value)}: ${issue.message}`;
  });
  throw new ConfigError(service, problems);
}
