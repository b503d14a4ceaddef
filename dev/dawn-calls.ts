// Host cost of the Dawn calls one dispatch makes (µs per call), to see what eager and replayed steps can reach.
//   node dev/run.mjs dawn-calls
import { Engine } from '../src/engine/index.js';

const e = await Engine.create();
const d = e.device;
const code = `@group(0) @binding(0) var<storage, read> a: array<f32>;
@group(0) @binding(1) var<storage, read> b: array<f32>;
@group(0) @binding(2) var<storage, read_write> c: array<f32>;
@compute @workgroup_size(64) fn main(@builtin(global_invocation_id) g: vec3u) { if (g.x < 64u) { c[g.x] = a[g.x] + b[g.x]; } }`;
const { pipeline, layout } = e.pipelines.get('add', 'add', code);
const bufs = [0, 1, 2].map(() => d.createBuffer({ size: 256, usage: GPUBufferUsage.STORAGE }));
const entries = bufs.map((buffer, binding) => ({ binding, resource: { buffer, size: 256 } }));
const N = 2000;
const time = (f: () => void): number => {
  const t0 = performance.now();
  for (let i = 0; i < N; i++) f();
  return ((performance.now() - t0) * 1000) / N;
};
const groups: GPUBindGroup[] = [];
const out: Record<string, number> = {};
for (let rep = 0; rep < 2; rep++) {
  out.createBindGroup = time(() => groups.push(d.createBindGroup({ layout, entries })));
  const enc = d.createCommandEncoder();
  const pass = enc.beginComputePass();
  out.setPipeline = time(() => pass.setPipeline(pipeline));
  let k = 0;
  out.setBindGroup = time(() => pass.setBindGroup(0, groups[k++]!));
  out.dispatchWorkgroups = time(() => pass.dispatchWorkgroups(1));
  pass.end();
  const t0 = performance.now();
  d.queue.submit([enc.finish()]);
  out.finishAndSubmit_ms = performance.now() - t0;
  await d.queue.onSubmittedWorkDone();
  groups.length = 0;
}
console.log(JSON.stringify(out, null, 2));
e.destroy();
