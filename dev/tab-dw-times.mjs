// Usage: node dev/tab-dw-times.mjs N HW C STRIDE ...: the depthwise 3×3 forward (bias, ReLU6) with 1, 2, 4, 8 output
// columns per invocation (WIDTHS='[…]') on the tab's adapter (server on :8090): per width the least wall ms and the
// least CPU ms of Chromium's GPU process over interleaved runs.
import { build } from 'esbuild';
import { chromium } from 'playwright-core';
import { gpuCpuSeconds } from './tab-cpu.mjs';
await build({ entryPoints: ['dev/tab-layer-times.ts'], bundle: true, format: 'iife', outfile: 'web/dist/tab-layer-times.js', logLevel: 'error' });
const b = await chromium.launch({ executablePath: '/usr/bin/chromium', args: ['--headless', '--no-sandbox', '--enable-unsafe-webgpu', '--use-webgpu-adapter=swiftshader', '--disable-background-networking', '--disable-component-update', '--no-first-run'] });
const p = await b.newPage();
await p.goto('http://127.0.0.1:8090/');
await p.addScriptTag({ url: 'dist/tab-layer-times.js' });
const widths = JSON.parse(process.env.WIDTHS ?? '[1,2,4,8]');
const reps = Number(process.env.REPS ?? 4);
const a = process.argv.slice(2).map(Number);
for (let i = 0; i + 3 < a.length; i += 4) {
  await p.evaluate((g) => window.__dwSetup(...g), a.slice(i, i + 4));
  const wall = widths.map(() => Infinity);
  const cpu = widths.map(() => Infinity);
  for (const T of widths) await p.evaluate((T) => window.__dwRun(T, 1), T);
  for (let r = 0; r < reps; r++) {
    for (const [j, T] of widths.entries()) {
      const c0 = gpuCpuSeconds();
      const ms = await p.evaluate((T) => window.__dwRun(T, 1), T);
      cpu[j] = Math.min(cpu[j], (gpuCpuSeconds() - c0) * 1000);
      wall[j] = Math.min(wall[j], ms[0]);
    }
  }
  console.log(a.slice(i, i + 4).join('x'), widths.map((T, j) => `T${T} ${wall[j].toFixed(0)}/${cpu[j].toFixed(0)}`).join('  '));
}
await b.close();
