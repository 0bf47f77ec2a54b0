// Narrows the root package.json to one service and the workspace libraries it depends on (transitively, through
// `dependencies` only), and removes the other workspaces, so that `npm install --omit=dev` then installs that
// service's production dependencies alone, at the versions of package-lock.json. Used by the Dockerfile.
import { readFileSync, rmSync, writeFileSync, readdirSync } from 'node:fs';

const service = process.argv[2];
const readJson = (path) => JSON.parse(readFileSync(path, 'utf8'));
const folders = new Map();
for (const parent of ['libs', 'services']) {
  for (const name of readdirSync(parent)) {
    const dir = `${parent}/${name}`;
    folders.set(readJson(`${dir}/package.json`).name, dir);
  }
}

const start = `services/${service}`;
if (![...folders.values()].includes(start)) throw new Error(`no workspace ${start}`);
const keep = new Set([start]);
const queue = [start];
while (queue.length > 0) {
  const { dependencies = {} } = readJson(`${queue.shift()}/package.json`);
  for (const name of Object.keys(dependencies)) {
    const dir = folders.get(name);
    if (dir && !keep.has(dir)) {
      keep.add(dir);
      queue.push(dir);
    }
  }
}

for (const dir of folders.values()) if (!keep.has(dir)) rmSync(dir, { recursive: true, force: true });
const root = readJson('package.json');
root.workspaces = [...keep].sort();
delete root.devDependencies;
delete root.scripts;
writeFileSync('package.json', `${JSON.stringify(root, null, 2)}\n`);
console.log(`workspaces: ${root.workspaces.join(' ')}`);
