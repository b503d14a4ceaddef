// Usage: node dev/tab-gemm-times.mjs M K N ...; each GEMM variant's time on the tab's adapter (server on :8090).
import { build } from 'esbuild';
import { chromium } from 'playwright-core';
await build({ entryPoints: ['dev/tab-layer-times.ts'], bundle: true, format: 'iife', outfile: 'web/dist/tab-layer-times.js', logLevel: 'error' });
const b = await chromium.launch({ executablePath: '/usr/bin/chromium', args: ['--headless', '--no-sandbox', '--enable-unsafe-webgpu', '--use-webgpu-adapter=swiftshader', '--disable-background-networking', '--disable-component-update', '--no-first-run'] });
const p = await b.newPage();
await p.goto('http://127.0.0.1:8090/');
await p.addScriptTag({ url: 'dist/tab-layer-times.js' });
const a = process.argv.slice(2).map(Number);
for (let i = 0; i + 2 < a.length; i += 3) {
  const r = await p.evaluate(([M, K, N]) => window.__gemmTimes(M, K, N, 3), [a[i], a[i + 1], a[i + 2]]);
  console.log(`${a[i]}x${a[i + 1]}x${a[i + 2]}`, Object.entries(r).map(([k, v]) => `${k} ${v.toFixed(1)}`).join('  '));
}
await b.close();
