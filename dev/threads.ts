// Shows which threads of this process burn CPU while a big matmul runs (to attribute kernel vs. compile time).
import { readdirSync, readFileSync } from 'node:fs';
import { Engine } from '../src/engine/index.js';
import { matmulForward } from '../src/kernels/matmul.js';

function snap(): Map<string, number> {
  const m = new Map<string, number>();
  for (const t of readdirSync('/proc/self/task')) {
    const stat = readFileSync(`/proc/self/task/${t}/stat`, 'utf8');
    const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    m.set(`${t}:${stat.slice(stat.indexOf('(') + 1, stat.lastIndexOf(')'))}`, Number(f[11]) + Number(f[12]));
  }
  return m;
}
const e = await Engine.create();
const a = e.full([1024, 1024], 1);
const s0 = snap();
matmulForward(e, a, a).dispose();
await e.sync();
const s1 = snap();
for (let i = 0; i < 5; i++) matmulForward(e, a, a).dispose();
await e.sync();
const s2 = snap();
for (const [k, v] of s2) console.log(k.padEnd(24), 'compile+1', (s1.get(k) ?? 0) - (s0.get(k) ?? 0), 'run×5', v - (s1.get(k) ?? 0));
process.exit(0);
