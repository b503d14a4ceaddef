#!/usr/bin/env bash
# The GPU run (issue 15), prepared for the lent GPU machine: tune our GEMM kernels for the benchmark's VGG16 and
# fine-tuning shapes, then run those cases at full size against TF.js WebGPU on the same device. Everything it
# writes goes to $OUT (the device tool brings that folder back): bench.json, bench.txt (the table, Markdown too),
# bench.log (progress and the tuning table) and tuning/ (the adapter's tuning cache).
#
# Here, once:  bash ../shared/gpu/pack.sh && npm run bench:gpu-pack        (Node, Dawn, Vulkan loader, .gpu/bench.mjs)
# Then, with the device tool:  run(command: "bash bench/gpu-run.sh", carry: [".gpu"], timeout_s: 600)
# Budget: tuning ≤ 3 minutes, the bench the rest of the 10 (full sizes: VGG16 forward at batch 1, 20 and 64 and the
# fine-tuning step at batch 20, each replayed and eager).
set -euo pipefail
cd "$(dirname "$0")/.."
OUT=${OUT:-.gpu/out}
mkdir -p "$OUT"
[ -f .gpu/run.sh ] && [ -f .gpu/bench.mjs ] || { echo "gpu-run: .gpu/run.sh or .gpu/bench.mjs missing; see the header of this script" >&2; exit 2; }
status=0
timeout 570 bash .gpu/run.sh .gpu/bench.mjs --cases vgg16,finetune --no-wasm --tune "${TUNE_SECONDS:-180}" --cache-dir "$OUT" \
  --wasm-dir .gpu/tfjs-wasm --markdown --json "$OUT/bench.json" > "$OUT/bench.txt" 2> "$OUT/bench.log" || status=$?
tail -n 40 "$OUT/bench.txt" || true
tail -n 5 "$OUT/bench.log" || true
exit "$status"
