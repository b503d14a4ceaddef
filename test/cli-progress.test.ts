import { describe, expect, it } from 'vitest';
import { createReporter, formatDuration, formatEpochLine, formatProgressBar } from '../src/cli/progress.js';
import type { TrainEvent } from '../src/train/events.js';

function fakeOut(isTTY: boolean): { text: () => string; write: (s: string) => boolean; isTTY: boolean; columns: number } {
  let buf = '';
  return { text: () => buf, write: (s: string) => ((buf += s), true), isTTY, columns: 120 };
}

const epoch: TrainEvent = { type: 'epoch', epoch: 3, epochs: 30, loss: 0.31, acc: 0.87, val_loss: 0.25, val_acc: 0.9, seconds: 4.12, images_per_s: 485 };
const events: TrainEvent[] = [
  { type: 'info', message: 'Found 2000 images belonging to 2 classes.' },
  { type: 'phase', name: 'Epoch 3/30', total: 100, unit: 'steps' },
  { type: 'progress', name: 'Epoch 3/30', done: 40, total: 100, images: 800, elapsed_s: 2, images_per_s: 400 },
  epoch,
];

describe('CLI progress output', () => {
  it('formats the Keras epoch line', () => {
    expect(formatEpochLine(epoch as Extract<TrainEvent, { type: 'epoch' }>)).toBe('Epoch 3/30 - 4.1s - loss: 0.3100 - acc: 0.8700 - val_loss: 0.2500 - val_acc: 0.9000');
  });

  it('draws a bar with steps, images/s and an ETA from the elapsed time', () => {
    const bar = formatProgressBar(40, 100, 400, 2, 10);
    expect(bar).toBe(' 40/100 [===>......] 400.0 img/s - ETA 00:03');
    expect(formatProgressBar(100, 100, 400, 5, 10)).toBe('100/100 [==========] 400.0 img/s - ETA 00:00');
    expect(formatDuration(3725)).toBe('1:02:05');
  });

  it('on a terminal: a live bar (carriage returns) cleared before each line', () => {
    const out = fakeOut(true);
    const r = createReporter({ json: false, out });
    for (const ev of events) r.sink(ev);
    r.close();
    const text = out.text();
    expect(text).toContain('Found 2000 images belonging to 2 classes.\n');
    expect(text).toMatch(/\r\x1b\[2KEpoch 3\/30 +40\/100 \[.*\] 400\.0 img\/s - ETA 00:03/);
    expect(text).toContain('\r\x1b[2KEpoch 3/30 - 4.1s - loss: 0.3100');
  });

  it('not on a terminal: lines only, no bar', () => {
    const out = fakeOut(false);
    const r = createReporter({ json: false, out });
    for (const ev of events) r.sink(ev);
    expect(out.text()).toBe('Found 2000 images belonging to 2 classes.\nEpoch 3/30 - 4.1s - loss: 0.3100 - acc: 0.8700 - val_loss: 0.2500 - val_acc: 0.9000\n');
  });

  it('with --json: one JSON object per line and nothing else', () => {
    const out = fakeOut(true);
    const r = createReporter({ json: true, out });
    for (const ev of events) r.sink(ev);
    r.say('a human line');
    r.json({ type: 'done', ok: true });
    const lines = out.text().trimEnd().split('\n');
    expect(lines.map((l) => JSON.parse(l) as { type: string }).map((x) => x.type)).toEqual(['info', 'phase', 'progress', 'epoch', 'done']);
  });
});
