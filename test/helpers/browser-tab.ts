// The browser app as the browser tests open it: the real server on a free loopback port and Debian's headless
// Chromium (WebGPU on SwiftShader) driven by playwright-core, started before a file's tests and closed after them.
import { existsSync } from 'node:fs';
import { readdir, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterAll, beforeAll } from 'vitest';
import { chromium, type Browser } from 'playwright-core';
import { CHROMIUM_ARGS } from '../../bench/onnx/browser.js';
import { startRepoWebServer, repoRoot } from '../../src/cli/commands/web.js';
import type { WebServer } from '../../src/cli/web-server.js';
import { setApiBase } from '../../web/sources.js';

export const chromiumPath = process.env.CHROMIUM ?? '/usr/bin/chromium';

/** The flags under which headless Chromium gives WebGPU without a GPU (SwiftShader's Vulkan): the bench's, one list. */
export { CHROMIUM_ARGS };

/** `npm test` builds first; a bare `vitest run` after an edit rebuilds here (only then, so dist/ is not rewritten under other tests). */
async function bundleIsStale(root: string): Promise<boolean> {
  const bundle = join(root, 'web', 'dist', 'app.js');
  if (!existsSync(bundle)) return true;
  const built = (await stat(bundle)).mtimeMs;
  const newest = async (dir: string): Promise<number> => {
    let t = 0;
    for (const e of await readdir(dir, { withFileTypes: true })) {
      if (e.name === 'dist' || e.name.startsWith('.')) continue;
      const p = join(dir, e.name);
      t = Math.max(t, e.isDirectory() ? await newest(p) : (await stat(p)).mtimeMs);
    }
    return t;
  };
  return Math.max(await newest(join(root, 'src')), await newest(join(root, 'web'))) > built;
}

export interface TabFixture {
  server: WebServer;
  browser: Browser;
}

/**
 * Registers the file's beforeAll/afterAll that start the server and Chromium (rebuilding the bundle when src/ or web/
 * changed after it) and close them; the returned object holds them once beforeAll has run. `extraArgs` are added to
 * Chromium's flags (e.g. a fake camera).
 */
export function useTabBrowser(extraArgs: readonly string[] = []): TabFixture {
  const fixture = {} as TabFixture;
  beforeAll(async () => {
    if (!existsSync(chromiumPath)) throw new Error(`no Chromium at ${chromiumPath}: run ./setup.sh --browser (or set CHROMIUM=/path/to/chromium)`);
    const root = repoRoot();
    if (await bundleIsStale(root)) {
      const { buildAll } = (await import(pathToFileURL(join(root, 'scripts', 'build.mjs')).href)) as { buildAll: () => Promise<void> };
      await buildAll();
    }
    fixture.server = await startRepoWebServer({ port: 0 });
    setApiBase(fixture.server.url);
    fixture.browser = await chromium.launch({ executablePath: chromiumPath, args: [...CHROMIUM_ARGS, ...extraArgs], timeout: 60_000 });
  });
  afterAll(async () => {
    await fixture.browser?.close();
    await fixture.server?.close();
  });
  return fixture;
}
