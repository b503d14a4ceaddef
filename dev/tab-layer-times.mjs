// Usage: node dev/tab-layer-times.mjs [model] [size] [batch]: per-layer forward times (a sync after each layer; an
// InvertedResidual block part by part, summed over blocks of the same shape) on the tab's adapter; needs
// `node dist/cli.js web --port 8090 --no-build` running.
import { build } from 'esbuild';
import { chromium } from 'playwright-core';
await build({ entryPoints: ['dev/tab-layer-times.ts'], bundle: true, format: 'iife', outfile: 'web/dist/tab-layer-times.js', logLevel: 'error' });
const [model = 'mobilenet_v2', size = '224', batch = '16'] = process.argv.slice(2);
const b = await chromium.launch({ executablePath: '/usr/bin/chromium', args: ['--headless', '--no-sandbox', '--enable-unsafe-webgpu', '--use-webgpu-adapter=swiftshader', '--disable-background-networking', '--disable-component-update', '--no-first-run'] });
const p = await b.newPage();
await p.goto('http://127.0.0.1:8090/');
await p.addScriptTag({ url: 'dist/tab-layer-times.js' });
const r = await p.evaluate(([m, s, n]) => window.__layerTimes(m, Number(s), Number(n), 1), [model, size, batch]);
console.log(r.adapter, 'total ms', r.total.toFixed(0), 'per image', (r.total / Number(batch)).toFixed(1));
for (const [n, t] of r.layers.slice(0, 25)) console.log(n.padEnd(24), t.toFixed(1));
await b.close();
