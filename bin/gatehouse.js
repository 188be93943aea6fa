#!/usr/bin/env node
// The `gatehouse` command. Checks the Node version before loading anything that needs it.
import { existsSync } from 'node:fs';

const [major, minor] = process.versions.node.split('.').map(Number);
if (major < 22 || (major === 22 && minor < 12)) {
  console.error(
    `gatehouse needs Node.js 22.12 or newer; this is ${process.version}. ` +
      'Install a current Node (https://nodejs.org), or run `. .ci/node.sh` in the repository to fetch one.',
  );
  process.exit(1);
}
const entry = new URL('../dist/src/cli/main.js', import.meta.url);
if (!existsSync(entry)) {
  console.error('gatehouse is not built yet: run `npm run build` (npm ci does it for you).');
  process.exit(1);
}
const { main } = await import(entry.href);
await main(process.argv.slice(2));
