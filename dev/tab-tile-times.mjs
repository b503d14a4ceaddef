// Usage: node dev/tab-tile-times.mjs M K N ...: the lanes GEMM (bias, ReLU6) with several tiles (TILES='[[L, TM, TNv,
// loopEpilogue?, noBroadcast?, groups?], …]') on the tab's adapter (server on :8090): per tile the least wall ms and the least CPU ms of
// Chromium's GPU process (SwiftShader's threads) over interleaved runs, the latter robust to other load,
// and the first run's wall ms (with the pipeline's compilation).
import { build } from 'esbuild';
import { chromium } from 'playwright-core';
import { gpuCpuSeconds } from './tab-cpu.mjs';
await build({ entryPoints: ['dev/tab-layer-times.ts'], bundle: true, format: 'iife', outfile: 'web/dist/tab-layer-times.js', logLevel: 'error' });
const b = await chromium.launch({ executablePath: '/usr/bin/chromium', args: ['--headless', '--no-sandbox', '--enable-unsafe-webgpu', '--use-webgpu-adapter=swiftshader', '--disable-background-networking', '--disable-component-update', '--no-first-run'] });
const p = await b.newPage();
await p.goto('http://127.0.0.1:8090/');
await p.addScriptTag({ url: 'dist/tab-layer-times.js' });
const tiles = JSON.parse(process.env.TILES ?? '[[4,16,1],[4,4,1],[4,8,1],[4,32,1],[4,4,2],[4,8,2],[4,16,2],[4,8,4]]').map(([L, TM, TNv, l, nb, g]) => ({ L, TM, TNv, bcast: !nb, loopEpilogue: !!l, groups: g ?? 1 }));
const name = (t) => `${t.L}x${t.TM}x${t.TNv}${t.bcast ? 'b' : ''}${t.loopEpilogue ? 'l' : ''}${t.groups > 1 ? 'g' + t.groups : ''}`;
const reps = Number(process.env.REPS ?? 4);
const a = process.argv.slice(2).map(Number);
for (let i = 0; i + 2 < a.length; i += 3) {
  await p.evaluate(([M, K, N]) => window.__tileSetup(M, K, N), [a[i], a[i + 1], a[i + 2]]);
  const wall = tiles.map(() => Infinity);
  const cpu = tiles.map(() => Infinity);
  const first = [];
  for (const t of tiles) first.push((await p.evaluate((t) => window.__tileRun(t, 1), t))[0]); // compiles
  for (let r = 0; r < reps; r++) {
    for (const [j, t] of tiles.entries()) {
      const c0 = gpuCpuSeconds();
      const ms = await p.evaluate((t) => window.__tileRun(t, 1), t);
      cpu[j] = Math.min(cpu[j], (gpuCpuSeconds() - c0) * 1000);
      wall[j] = Math.min(wall[j], ms[0]);
    }
  }
  const sums = [];
  for (const t of tiles) sums.push(await p.evaluate((t) => window.__tileCheck(t), t));
  const bad = tiles.filter((t, j) => Math.abs(sums[j] - sums[0]) > 1e-4 * Math.abs(sums[0])).map(name);
  if (bad.length) console.log('OUTPUT DIFFERS from the first tile:', bad.join(' '), sums.join(' '));
  console.log(`${a[i]}x${a[i + 1]}x${a[i + 2]}`, tiles.map((t, j) => `${name(t)} ${wall[j].toFixed(0)}/${cpu[j].toFixed(0)} (first ${first[j].toFixed(0)})`).join('  '));
}
await b.close();
