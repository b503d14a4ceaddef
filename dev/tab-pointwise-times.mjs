// Usage: node dev/tab-pointwise-times.mjs: a 1×1 convolution as conv2dForward, the same product as matmulForward on
// the [n·h·w, c] view, and a ReLU6 pass over its input, on the tab's adapter (server on :8090), for MobileNetV2 sizes.
import { build } from 'esbuild';
import { chromium } from 'playwright-core';
await build({ entryPoints: ['dev/tab-layer-times.ts'], bundle: true, format: 'iife', outfile: 'web/dist/tab-layer-times.js', logLevel: 'error' });
const b = await chromium.launch({ executablePath: '/usr/bin/chromium', args: ['--headless', '--no-sandbox', '--enable-unsafe-webgpu', '--use-webgpu-adapter=swiftshader', '--disable-background-networking', '--disable-component-update', '--no-first-run'] });
const p = await b.newPage();
await p.goto('http://127.0.0.1:8090/');
await p.addScriptTag({ url: 'dist/tab-layer-times.js' });
for (const s of [[16, 56, 24, 144], [16, 112, 16, 96], [16, 56, 144, 24]]) console.log(s.join('x'), JSON.stringify(await p.evaluate((s) => window.__pointwiseTimes(...s, 3), s)));
await b.close();
