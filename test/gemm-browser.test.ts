import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { build } from 'esbuild';
import { chromium, type Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { refConv2d, refConv2dBackward, refConvGeometry } from '../src/reference/conv2d.js';
import { refMatmul } from '../src/reference/matmul.js';
import { CHROMIUM_ARGS } from './helpers/browser-tab.js';
import type { PageInputs } from './helpers/gemm-page.js';
import { expectClose, FWD_TOL, GRAD_TOL, randomArray } from './helpers/small-ops.js';

/** Every GEMM variant (the GPU tiles and the lavapipe kernels) on headless Chromium's WebGPU (SwiftShader). */

let server: Server;
let browser: Browser;

beforeAll(async () => {
  const bundle = await build({ entryPoints: [join(import.meta.dirname, 'helpers/gemm-page.ts')], bundle: true, write: false, format: 'iife', globalName: 'gemmPage', platform: 'browser', logLevel: 'silent' });
  const script = bundle.outputFiles[0]!.text;
  server = createServer((req, res) => {
    if (req.url === '/page.js') res.writeHead(200, { 'content-type': 'text/javascript' }).end(script);
    else if (req.url === '/') res.writeHead(200, { 'content-type': 'text/html' }).end('<!doctype html><script src="/page.js"></script>');
    else res.writeHead(404).end();
  });
  await new Promise<void>((ok) => server.listen(0, '127.0.0.1', ok));
  browser = await chromium.launch({
    executablePath: process.env.CHROMIUM ?? '/usr/bin/chromium',
    args: CHROMIUM_ARGS,
    timeout: 60_000,
  });
}, 120_000);

afterAll(async () => {
  await browser?.close();
  await new Promise((ok) => server?.close(ok));
});

describe('GEMM variants in headless Chromium', () => {
  it('every variant matches the float64 reference: matmul with bias and ReLU, a stride-2 convolution and both gradients', { timeout: 600_000 }, async () => {
    // M·N·K ≥ 2²² so that the lanes kernel takes its large-product tile (on SwiftShader: 8 subgroups per workgroup).
    const [M, N, K] = [301, 70, 200];
    const xShape = [2, 7, 6, 5];
    const wShape = [3, 3, 5, 9];
    const g = refConvGeometry({ n: 2, h: 7, w: 6, cin: 5, kh: 3, kw: 3, cout: 9, stride: 2, padding: 'same' });
    const inputs: PageInputs = {
      mm: { M, N, K, a: Array.from(randomArray(M * K, 1)), b: Array.from(randomArray(K * N, 2)), bias: Array.from(randomArray(N, 3)) },
      conv: { x: Array.from(randomArray(2 * 7 * 6 * 5, 4)), xShape, w: Array.from(randomArray(3 * 3 * 5 * 9, 5)), wShape, gy: Array.from(randomArray(2 * g.oh * g.ow * 9, 6)), stride: 2 },
    };
    const page = await browser.newPage();
    await page.goto(`http://127.0.0.1:${(server.address() as AddressInfo).port}/`);
    await page.waitForFunction(() => 'gemmPage' in window);
    const out = await page.evaluate((p) => (window as unknown as { gemmPage: { runVariants(p: PageInputs): Promise<{ adapter: string; fallback: boolean; results: Record<string, number[][]> }> } }).gemmPage.runVariants(p), inputs);
    await page.close();
    const mm = refMatmul(inputs.mm.a, inputs.mm.b, M, N, K).map((v, i) => Math.max(v + inputs.mm.bias[i % N]!, 0));
    const y = refConv2d(inputs.conv.x, inputs.conv.w, null, g, false);
    const grads = refConv2dBackward(inputs.conv.x, inputs.conv.w, null, inputs.conv.gy, g, false);
    expect(Object.keys(out.results).length).toBe(5);
    for (const [v, [c, cy, gx, gw]] of Object.entries(out.results)) {
      expectClose(Float32Array.from(c!), mm, FWD_TOL, `${v} matmul on ${out.adapter}`);
      expectClose(Float32Array.from(cy!), y, FWD_TOL, `${v} conv`);
      expectClose(Float32Array.from(gx!), grads.gx, GRAD_TOL, `${v} conv grad input`);
      expectClose(Float32Array.from(gw!), grads.gw, GRAD_TOL, `${v} conv grad filter`);
    }
  });
});
