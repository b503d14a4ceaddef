#!/usr/bin/env node
// Runs the bundled CLI, building it first when this is a fresh checkout.
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const cli = join(root, 'dist', 'cli.js');
if (!existsSync(cli)) {
  const { buildAll } = await import(pathToFileURL(join(root, 'scripts', 'build.mjs')).href);
  await buildAll();
}
await import(pathToFileURL(cli).href);
