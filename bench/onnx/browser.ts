// Node's end of the Chromium side: bundles page.ts (our engine) with esbuild, serves it next to ONNX Runtime Web's
// files from node_modules and the case's model and photos from ../shared/onnx (loopback only, nothing fetched from
// elsewhere), launches Debian's Chromium through playwright-core and runs cases in one page.
import { createReadStream, existsSync, statSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { basename, dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createRequire } from 'node:module';
import type { Browser, Page } from 'playwright-core';
import { ONNX_ROOT } from './data.js';
import type { PageCaseSpec, PageInfo, PageSideName, PageSideResult } from './page.js';

/** Headless Chromium with WebGPU and no GPU: SwiftShader's Vulkan, as the browser tests use it. */
export const CHROMIUM_ARGS = [
  '--headless',
  '--no-sandbox',
  '--enable-unsafe-webgpu',
  '--use-webgpu-adapter=swiftshader',
  '--disable-background-networking',
  '--disable-component-update',
  '--no-first-run',
];

const here = dirname(fileURLToPath(import.meta.url));

/** bench/onnx/page.ts, found from the source tree (bench run from src) or from the repository root (dist/bench.js). */
function pageEntry(): string {
  for (const p of [join(here, 'page.ts'), join(process.cwd(), 'bench/onnx/page.ts')]) if (existsSync(p)) return p;
  throw new Error('bench/onnx/page.ts not found: run the bench from the repository root');
}

function ortDist(): string {
  const req = createRequire(join(process.cwd(), 'package.json'));
  // The package's Node entry lies in dist/, beside the browser builds and the .wasm files.
  return dirname(req.resolve('onnxruntime-web'));
}

export interface BrowserSide {
  info: PageInfo;
  runCase(spec: PageCaseSpec): Promise<Record<PageSideName, PageSideResult>>;
  close(): Promise<void>;
}

export async function startBrowserSide(opts: { chromium?: string; wasmThreads: number; log: (s: string) => void }): Promise<BrowserSide> {
  const { build } = await import('esbuild');
  const { chromium } = await import('playwright-core');
  const executablePath = opts.chromium ?? process.env.CHROMIUM ?? '/usr/bin/chromium';
  if (!existsSync(executablePath)) throw new Error(`no Chromium at ${executablePath} (set CHROMIUM=/path/to/chromium)`);
  const bundle = await build({ entryPoints: [pageEntry()], bundle: true, write: false, format: 'iife', globalName: 'onnxBench', platform: 'browser', target: 'es2022', logLevel: 'warning' });
  const script = bundle.outputFiles[0]!.text;
  const ortDir = ortDist();
  const html = [
    '<!doctype html><meta charset="utf-8"><title>onnx bench</title>',
    '<script type="module">',
    "import * as ort from '/ort/ort.webgpu.min.mjs';",
    'window.ort = ort;',
    "const s = document.createElement('script'); s.src = '/page.js'; document.head.append(s);",
    '</script>',
  ].join('\n');
  // Cross-origin isolation (COOP + COEP) on every response: ORT's wasm threads need SharedArrayBuffer.
  const isolation = { 'cross-origin-opener-policy': 'same-origin', 'cross-origin-embedder-policy': 'require-corp', 'cross-origin-resource-policy': 'same-origin' };
  const sendFile = (res: import('node:http').ServerResponse, file: string, type: string): void => {
    if (!existsSync(file) || !statSync(file).isFile()) {
      res.writeHead(404, isolation).end();
      return;
    }
    res.writeHead(200, { ...isolation, 'content-type': type, 'content-length': statSync(file).size });
    createReadStream(file).pipe(res);
  };
  const server: Server = createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://127.0.0.1');
    const p = url.pathname;
    if (p === '/') res.writeHead(200, { ...isolation, 'content-type': 'text/html' }).end(html);
    else if (p === '/favicon.ico') res.writeHead(204, isolation).end();
    else if (p === '/page.js') res.writeHead(200, { ...isolation, 'content-type': 'text/javascript' }).end(script);
    else if (p.startsWith('/ort/') && /^[\w.-]+$/.test(basename(p)) && basename(p) === p.slice(5)) {
      sendFile(res, join(ortDir, basename(p)), p.endsWith('.wasm') ? 'application/wasm' : 'text/javascript');
    } else {
      const m = /^\/onnx\/([\w.-]+)\/(model\.onnx|input\.npy)$/.exec(p);
      if (m) sendFile(res, join(ONNX_ROOT, m[1]!, m[2]!), 'application/octet-stream');
      else res.writeHead(404, isolation).end();
    }
  });
  await new Promise<void>((ok) => server.listen(0, '127.0.0.1', ok));
  let browser: Browser | null = null;
  try {
    browser = await chromium.launch({ executablePath, args: CHROMIUM_ARGS, timeout: 120_000 });
    const page: Page = await browser.newPage();
    page.on('console', (m) => {
      const t = m.text();
      if (t.startsWith('[page]')) opts.log(t.slice(7));
      else if (m.type() === 'error' || m.type() === 'warning') opts.log(`chromium ${m.type()}: ${t.split('\n')[0]}`);
    });
    page.on('pageerror', (err) => opts.log(`chromium page error: ${err.message.split('\n')[0]}`));
    await page.goto(`http://127.0.0.1:${(server.address() as AddressInfo).port}/`);
    await page.waitForFunction(() => 'onnxBench' in window && 'ort' in window, undefined, { timeout: 60_000 });
    type Api = { init(threads: number): Promise<PageInfo>; runCase(spec: PageCaseSpec): Promise<Record<PageSideName, PageSideResult>> };
    const info = await page.evaluate((n) => (window as unknown as { onnxBench: Api }).onnxBench.init(n), opts.wasmThreads);
    const b = browser;
    return {
      info,
      runCase: (spec) => page.evaluate((s) => (window as unknown as { onnxBench: Api }).onnxBench.runCase(s), spec),
      async close() {
        await b.close();
        await new Promise((ok) => server.close(ok));
      },
    };
  } catch (err) {
    await browser?.close();
    await new Promise((ok) => server.close(ok));
    throw err;
  }
}
