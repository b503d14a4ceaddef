// Bundles the benchmark, TensorFlow.js included, into .gpu/bench.mjs for the lent GPU machine (no network, no
// node_modules there; see ../shared/gpu/README.md). `webgpu` stays external and resolves to .gpu/node_modules/webgpu,
// which ../shared/gpu/pack.sh puts there. tfjs-backend-wasm's .wasm files are copied to .gpu/tfjs-wasm/.
// Usage: `npm run bench:gpu-pack`, then on the GPU machine `bash bench/gpu-run.sh` (tunes, then the full-size VGG16 and
// fine-tuning cases; see its header), or by hand:
//   bash .gpu/run.sh .gpu/bench.mjs --wasm-dir .gpu/tfjs-wasm --json $OUT/bench.json
import { build } from 'esbuild';
import { copyFileSync, existsSync, mkdirSync, readdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const out = join(root, '.gpu');
mkdirSync(join(out, 'tfjs-wasm'), { recursive: true });
await build({
  absWorkingDir: root,
  entryPoints: ['bench/main.ts'],
  outfile: join(out, 'bench.mjs'),
  bundle: true,
  platform: 'node',
  format: 'esm',
  target: 'node20',
  // The opt-in ONNX cases (bench/onnx/) load these at run time only; the GPU machine has none of them.
  external: ['webgpu', 'onnxruntime-node', 'onnxruntime-web', 'playwright-core', 'esbuild'],
  logLevel: 'warning',
  // CommonJS parts of TF.js call require() and read __dirname; an ES module has neither.
  banner: {
    js: [
      "import { createRequire as __cr } from 'node:module';",
      "import { fileURLToPath as __fu } from 'node:url';",
      "import { dirname as __dn } from 'node:path';",
      'const require = __cr(import.meta.url);',
      'const __filename = __fu(import.meta.url);',
      'const __dirname = __dn(__filename);',
    ].join('\n'),
  },
});
const wasmDir = join(root, 'node_modules/@tensorflow/tfjs-backend-wasm/dist');
for (const f of readdirSync(wasmDir).filter((f) => f.endsWith('.wasm'))) copyFileSync(join(wasmDir, f), join(out, 'tfjs-wasm', f));
console.log(`wrote .gpu/bench.mjs and .gpu/tfjs-wasm/`);
if (!existsSync(join(out, 'run.sh'))) console.log('note: .gpu/run.sh is missing: run `bash ../shared/gpu/pack.sh` once (Node, Dawn and the Vulkan loader for the GPU machine)');
