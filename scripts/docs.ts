/**
 * The generated parts of the docs, from `libs/contracts` (the one source of truth): the error-code table in the
 * README and, in each service's README, the subjects and endpoints it serves, calls, publishes and consumes.
 *
 *   node --conditions=source scripts/docs.ts          rewrites them
 *   node --conditions=source scripts/docs.ts --check  fails when one is stale (tests/deploy/generated-docs.test.ts)
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { busTopology, ERRORS, SERVICES, type ServiceName } from '@chat/contracts';

const ROOT = fileURLToPath(new URL('../', import.meta.url));

const cell = (text: string) => text.replaceAll('|', '\\|');

export function errorCodeTable(): string {
  const rows = Object.entries(ERRORS).map(([code, { status, message }]) => `| \`${code}\` | ${status} | ${cell(message)} |`);
  return ['| Code | HTTP status | Default message |', '|---|---|---|', ...rows].join('\n');
}

export function serviceContract(service: ServiceName): string {
  const { channels, endpoints } = busTopology();
  const code = (text: string) => `\`${text}\``;
  const list = (title: string, lines: string[]) => (lines.length === 0 ? [] : [`**${title}**`, '', ...lines, '']);
  const served = endpoints
    .filter((e) => e.service === service)
    .map((e) => `- ${code(e.subject)} — ${e.summary} (called by ${e.callers.join(', ')})`);
  const called = endpoints.filter((e) => e.callers.includes(service)).map((e) => `- ${code(e.subject)} on ${e.service} — ${e.summary}`);
  const where = (stream: string | undefined) => (stream ? `stream ${code(stream)}` : 'core NATS');
  const published = channels
    .filter((c) => c.from.includes(service))
    .map((c) => `- ${code(c.channel.subject)} (${where(c.stream)}) — ${c.summary}; to ${c.to.join(', ')}`);
  const consumed = channels
    .filter((c) => c.to.includes(service))
    .map((c) => `- ${code(c.channel.subject)} (${where(c.stream)}) — ${c.summary}; from ${c.from.join(', ')}`);
  return [
    ...list('Endpoints it serves', served),
    ...list('Endpoints it calls', called),
    ...list('Subjects it publishes', published),
    ...list('Subjects it consumes', consumed),
  ]
    .join('\n')
    .trimEnd();
}

/** Every generated section: file → section name → content. */
function generatedSections(): Record<string, Record<string, string>> {
  return {
    'README.md': { 'error-codes': errorCodeTable() },
    ...Object.fromEntries(SERVICES.map((service) => [`services/${service}/README.md`, { 'bus-contract': serviceContract(service) }])),
  };
}

const START = (name: string) => `<!-- generated:${name} (scripts/docs.ts) -->`;
const END = (name: string) => `<!-- /generated:${name} -->`;

/** The file with its section replaced; throws when the file has no markers for it. */
export function withSection(text: string, name: string, content: string): string {
  const start = text.indexOf(START(name));
  const end = text.indexOf(END(name));
  if (start < 0 || end < start) throw new Error(`no ${START(name)} … ${END(name)} markers`);
  return `${text.slice(0, start)}${START(name)}\n${content}\n${text.slice(end)}`;
}

/** The file with every one of these sections replaced. */
const withSections = (text: string, sections: Record<string, string>): string =>
  Object.entries(sections).reduce((acc, [name, content]) => withSection(acc, name, content), text);

/** The files whose generated sections are not what the contracts say now. */
export function staleFiles(root = ROOT): string[] {
  return Object.entries(generatedSections()).flatMap(([file, sections]) => {
    const text = readFileSync(`${root}${file}`, 'utf8');
    const wanted = withSections(text, sections);
    return wanted === text ? [] : [file];
  });
}

if (import.meta.url === `file://${process.argv[1]}`) {
  if (process.argv.includes('--check')) {
    const stale = staleFiles();
    if (stale.length > 0) {
      console.error(`stale generated docs (run node --conditions=source scripts/docs.ts): ${stale.join(', ')}`);
      process.exit(1);
    }
  } else {
    for (const [file, sections] of Object.entries(generatedSections())) {
      const path = `${ROOT}${file}`;
      const text = readFileSync(path, 'utf8');
      writeFileSync(path, withSections(text, sections));
    }
  }
}
