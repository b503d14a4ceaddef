// Usage: node dev/tab-ab.mjs BASE_DIR [model] [size] [batch] [rounds]: the whole forward on the tab's adapter (server on
// :8090) with this checkout's src/ and with BASE_DIR's (e.g. `git archive HEAD src | tar -x -C /tmp/base`; dev/tab-forward.ts
// is copied there), in
// alternating runs so that both see the same machine load; prints each side's wall time and the CPU time of Chromium's
// GPU process (SwiftShader's threads; per image, halved: a call runs the forward twice) per run, and medians.
import { build } from 'esbuild';
import { chromium } from 'playwright-core';
import fs from 'node:fs';
import path from 'node:path';
import { gpuCpuSeconds } from './tab-cpu.mjs';
const [base, model = 'mobilenet_v2', size = '224', batch = '16', rounds = '3'] = process.argv.slice(2);
if (!base) throw new Error('usage: node dev/tab-ab.mjs BASE_DIR [model] [size] [batch] [rounds]');
// CONV='16,225,3,32,3,2,valid,relu6' (n, h, cin, cout, k, stride, padding, activation): time that convolution instead
// (per image of its batch n).
const conv = process.env.CONV ? process.env.CONV.split(',').map((v) => (/^\d+$/.test(v) ? Number(v) : v)) : null;
const nodePaths = [path.resolve('node_modules')];
await build({ entryPoints: ['dev/tab-forward.ts'], bundle: true, format: 'iife', outfile: 'web/dist/tab-ab-new.js', logLevel: 'error' });
fs.mkdirSync(path.join(base, 'dev'), { recursive: true });
fs.copyFileSync('dev/tab-forward.ts', path.join(base, 'dev/tab-forward.ts'));
await build({ entryPoints: [path.join(base, 'dev/tab-forward.ts')], bundle: true, format: 'iife', outfile: 'web/dist/tab-ab-base.js', logLevel: 'error', nodePaths });
const b = await chromium.launch({ executablePath: '/usr/bin/chromium', args: ['--headless', '--no-sandbox', '--enable-unsafe-webgpu', '--use-webgpu-adapter=swiftshader', '--disable-background-networking', '--disable-component-update', '--no-first-run'] });
const pages = {};
for (const side of ['base', 'new']) {
  const p = await b.newPage();
  await p.goto('http://127.0.0.1:8090/');
  await p.addScriptTag({ url: `dist/tab-ab-${side}.js` });
  pages[side] = p;
}
const runs = { base: [], new: [] };
const cpu = { base: [], new: [] };
const sums = {};
const first = {};
for (let r = 0; r < Number(rounds); r++) {
  for (const side of r % 2 ? ['new', 'base'] : ['base', 'new']) {
    // The first call compiles (its warm-up run); time only later calls' own runs.
    const call = (reps) =>
      conv
        ? pages[side].evaluate(([c, reps]) => window.__convTimes(...c, reps), [conv, reps])
        : pages[side].evaluate(([m, s, n, reps]) => window.__forwardTimes(m, Number(s), Number(n), reps), [model, size, batch, reps]);
    if (r < 2) {
      const t0 = Date.now();
      await call(0);
      first[side] = Date.now() - t0;
    }
    const c0 = gpuCpuSeconds();
    const out = await call(1);
    cpu[side].push(((gpuCpuSeconds() - c0) * 1000) / (conv ? conv[0] : Number(batch)) / 2);
    if (out.checksum !== undefined) sums[side] = out.checksum;
    runs[side].push(...out.ms.map((t) => t / (conv ? conv[0] : Number(batch))));
  }
}
const med = (a) => [...a].sort((x, y) => x - y)[Math.floor(a.length / 2)];
for (const side of ['base', 'new']) {
  console.log(side.padEnd(5), 'wall ms/image', runs[side].map((t) => t.toFixed(0)).join(' '), ' median', med(runs[side]).toFixed(1),
    ' | GPU-process CPU ms/image', cpu[side].map((t) => t.toFixed(0)).join(' '), ' median', med(cpu[side]).toFixed(1));
}
console.log('first call (set-up, compiling, one run) ms: base', first.base, 'new', first.new);
if (sums.base !== undefined) console.log('output checksums: base', sums.base, 'new', sums.new, 'relative difference', Math.abs(sums.new - sums.base) / Math.abs(sums.base));
await b.close();
