import { Command } from 'commander';
import { registerInfo } from './commands/info.js';
import { registerData } from './commands/data.js';
import { registerAugmentPreview } from './commands/augment-preview.js';
import { registerWeb } from './commands/web.js';
import { registerWeights } from './commands/weights.js';
import { registerStart } from './commands/start.js';
import { registerExtract } from './commands/extract.js';
import { registerTrainHead } from './commands/train-head.js';
import { registerTrain } from './commands/train.js';
import { registerFinetune } from './commands/finetune.js';
import { registerEvaluate } from './commands/evaluate.js';
import { registerPredict } from './commands/predict.js';
import { registerExplain } from './commands/explain.js';
import { registerTune } from './commands/tune.js';
import { registerOnnx } from './commands/onnx.js';
import { registerOnnxRun } from './commands/onnx-run.js';
import { registerExport } from './commands/export.js';

const program = new Command();
program
  .name('webgpu-transfer')
  .description('Transfer learning on a from-scratch WebGPU engine (VGG16, SqueezeNet 1.1, MobileNetV2)')
  .showHelpAfterError()
  .configureOutput({ outputError: (s, write) => write(s) });

registerInfo(program);
registerData(program);
registerAugmentPreview(program);
registerWeb(program);
registerWeights(program);
registerStart(program);
registerExtract(program);
registerTrainHead(program);
registerTrain(program);
registerFinetune(program);
registerEvaluate(program);
registerPredict(program);
registerExplain(program);
registerTune(program);
registerOnnxRun(registerOnnx(program));
registerExport(program);

program.exitOverride();
try {
  await program.parseAsync(process.argv);
  process.exit(0);
} catch (e) {
  const err = e as { code?: string; exitCode?: number; message?: string };
  if (err.code === 'commander.helpDisplayed' || err.code === 'commander.version' || err.code === 'commander.help') process.exit(0);
  if (err.code?.startsWith('commander.')) process.exit(err.exitCode ?? 2);
  console.error(`error: ${err.message ?? String(e)}`);
  process.exit(1);
}
