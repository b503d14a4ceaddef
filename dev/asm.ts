// Compiles one WGSL file on the adapter and exits: run under GALLIVM_DEBUG=asm|ir MESA_SHADER_CACHE_DISABLE=true
// to see what llvmpipe generates. Usage: node dev/run.mjs asm file.wgsl
import { readFileSync } from 'node:fs';
import { Engine } from '../src/engine/index.js';

const code = readFileSync(process.argv[2]!, 'utf8');
const e = await Engine.create();
const nb = (code.match(/@binding\(/g) ?? []).length;
const ts = Array.from({ length: nb }, () => e.full([4096], 1));
e.run({ name: 'probe', code, bindings: ts, workgroups: [1] });
await e.sync();
e.destroy();
process.exit(0);
