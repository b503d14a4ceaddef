import h5wasm, { type Dataset, type File as H5File, type Group } from 'h5wasm';
import { describe, expect, it } from 'vitest';
import { kerasWeightName, parseKerasH5, writeKerasH5 } from '../src/formats/keras-h5.js';
import { type HostTensor, type NamedArrays, WeightFormatError } from '../src/formats/types.js';

/** A few tiny layers in VGG16's naming, weightless input and pooling layers included. */
function tinyModel(): { tensors: NamedArrays; layers: string[] } {
  const f = (shape: number[], seed: number): HostTensor => ({
    shape,
    data: Float32Array.from({ length: shape.reduce((a, b) => a * b, 1) }, (_, i) => Math.sin(seed * 97 + i) * 0.1),
  });
  const tensors: NamedArrays = new Map([
    ['block1_conv1/kernel', f([3, 3, 3, 4], 1)],
    ['block1_conv1/bias', f([4], 2)],
    ['block1_conv2/kernel', f([3, 3, 4, 4], 3)],
    ['block1_conv2/bias', f([4], 4)],
    ['block2_conv1/kernel', f([3, 3, 4, 8], 5)],
    ['block2_conv1/bias', f([8], 6)],
  ]);
  return { tensors, layers: ['input_1', 'block1_conv1', 'block1_conv2', 'block1_pool', 'block2_conv1', 'block2_pool'] };
}

/** Writes an HDF5 file with h5wasm directly, for layouts the writer under test does not produce. */
async function rawH5(build: (f: H5File) => void): Promise<Uint8Array> {
  const { FS } = await h5wasm.ready;
  const path = `/raw-${Math.random().toString(36).slice(2)}.h5`;
  const f = new h5wasm.File(path, 'w');
  build(f);
  f.close();
  const bytes = FS!.readFile(path).slice();
  FS!.unlink(path);
  return bytes;
}

async function rejection(p: Promise<unknown>): Promise<WeightFormatError> {
  const e = await p.then(
    () => null,
    (x: unknown) => x,
  );
  expect(e).toBeInstanceOf(WeightFormatError);
  return e as WeightFormatError;
}

describe('Keras HDF5 weights', () => {
  it('round-trips exactly in the Keras 2, nested and Keras 1 (official VGG16 file) naming styles', async () => {
    const { tensors, layers } = tinyModel();
    for (const style of ['keras2', 'nested', 'keras1'] as const) {
      const bytes = await writeKerasH5(tensors, layers, { style });
      expect(Array.from(bytes.subarray(0, 8))).toEqual([0x89, 0x48, 0x44, 0x46, 0x0d, 0x0a, 0x1a, 0x0a]);
      const back = await parseKerasH5(bytes, `tiny-${style}.h5`);
      expect([...back.keys()]).toEqual([...tensors.keys()]);
      for (const [name, t] of tensors) {
        expect(back.get(name)!.shape).toEqual(t.shape);
        expect(back.get(name)!.data).toEqual(t.data);
      }
    }
  });

  it('writes the layout Keras reads: layer_names, weight_names per layer, datasets under the layer group', async () => {
    const { tensors, layers } = tinyModel();
    const bytes = await writeKerasH5(tensors, layers, { style: 'keras1' });
    const { FS } = await h5wasm.ready;
    FS!.writeFile('/inspect.h5', bytes);
    const f = new h5wasm.File('/inspect.h5', 'r');
    try {
      expect(f.attrs['layer_names']!.value).toEqual(layers);
      expect((f.get('block1_conv1') as Group).attrs['weight_names']!.value).toEqual(['block1_conv1_W_1:0', 'block1_conv1_b_1:0']);
      expect((f.get('block1_pool') as Group).attrs['weight_names']!.value).toEqual([]);
      const ds = f.get('block1_conv1/block1_conv1_W_1:0') as Dataset;
      expect(ds.shape).toEqual([3, 3, 3, 4]);
      expect(ds.dtype).toBe('<f');
    } finally {
      f.close();
      FS!.unlink('/inspect.h5');
    }
    const k2 = await writeKerasH5(tensors, layers);
    FS!.writeFile('/inspect2.h5', k2);
    const g = new h5wasm.File('/inspect2.h5', 'r');
    try {
      expect((g.get('block2_conv1') as Group).attrs['weight_names']!.value).toEqual(['block2_conv1/kernel:0', 'block2_conv1/bias:0']);
      expect((g.get('block2_conv1/block2_conv1/kernel:0') as Dataset).shape).toEqual([3, 3, 4, 8]);
    } finally {
      g.close();
      FS!.unlink('/inspect2.h5');
    }
  });

  it('maps stored weight names to Keras 2 names', () => {
    expect(kerasWeightName('block1_conv1', 'block1_conv1_W_1:0')).toBe('block1_conv1/kernel');
    expect(kerasWeightName('block1_conv1', 'block1_conv1_b_1:0')).toBe('block1_conv1/bias');
    expect(kerasWeightName('block1_conv1', 'block1_conv1/kernel:0')).toBe('block1_conv1/kernel');
    expect(kerasWeightName('block1_conv1', 'block1_conv1/block1_conv1/bias:0')).toBe('block1_conv1/bias');
    expect(kerasWeightName('bn', 'bn/moving_mean:0')).toBe('bn/moving_mean');
    expect(kerasWeightName('fc', 'other_W:0')).toBe('fc/other_W');
  });

  it('reads h5py-style variants: float64 data, empty numeric weight_names, chunked layer_names, /model_weights', async () => {
    const bytes = await rawH5((f) => {
      const mw = f.create_group('model_weights');
      mw.create_attribute('layer_names0', ['conv'], null, 'S4');
      mw.create_attribute('layer_names1', ['pool'], null, 'S4');
      const g = mw.create_group('conv');
      g.create_attribute('weight_names', ['conv/kernel:0', 'conv/bias:0'], null, 'S13');
      const inner = g.create_group('conv');
      inner.create_dataset({ name: 'kernel:0', data: new Float64Array([0.5, -0.25, 3, 4]), shape: [1, 1, 2, 2], dtype: '<d' });
      inner.create_dataset({ name: 'bias:0', data: new Float32Array([1, 2]), shape: [2], dtype: '<f' });
      mw.create_group('pool').create_attribute('weight_names', new Float64Array(0), [0], '<d');
    });
    const w = await parseKerasH5(bytes, 'full.h5');
    expect([...w.keys()]).toEqual(['conv/kernel', 'conv/bias']);
    expect(w.get('conv/kernel')).toEqual({ shape: [1, 1, 2, 2], data: new Float32Array([0.5, -0.25, 3, 4]) });
  });

  it('errors name the file and what is wrong', async () => {
    const { tensors, layers } = tinyModel();
    const bytes = await writeKerasH5(tensors, layers);
    for (const cut of [100, Math.floor(bytes.length / 2), bytes.length - 1]) {
      const e = await rejection(parseKerasH5(bytes.subarray(0, cut), 'cut.h5'));
      expect(e.message).toMatch(/^cut\.h5: /);
      expect(e.message).toMatch(/truncated/i);
    }
    expect((await rejection(parseKerasH5(new TextEncoder().encode('{"not": "hdf5"}'), 'x.h5'))).message).toMatch(/x\.h5: not an HDF5 file/);
    const noNames = await rawH5((f) => f.create_dataset({ name: 'x', data: new Float32Array(2) }));
    expect((await rejection(parseKerasH5(noNames, 'plain.h5'))).message).toMatch(/plain\.h5: no layer_names attribute/);
    const noGroup = await rawH5((f) => f.create_attribute('layer_names', ['ghost'], null, 'S5'));
    const e1 = await rejection(parseKerasH5(noGroup, 'g.h5'));
    expect(e1.message).toMatch(/layer 'ghost' listed in layer_names has no group/);
    expect(e1.tensor).toBe('ghost');
    const noData = await rawH5((f) => {
      f.create_attribute('layer_names', ['d'], null, 'S1');
      f.create_group('d').create_attribute('weight_names', ['d/kernel:0'], null, 'S10');
    });
    const e2 = await rejection(parseKerasH5(noData, 'n.h5'));
    expect(e2.message).toMatch(/weight 'd\/kernel:0' of layer 'd' is not a dataset/);
    expect(e2.tensor).toBe('d/kernel');
    const strings = await rawH5((f) => {
      f.create_attribute('layer_names', ['s'], null, 'S1');
      const g = f.create_group('s');
      g.create_attribute('weight_names', ['w:0'], null, 'S3');
      g.create_dataset({ name: 'w:0', data: ['abc'] });
    });
    expect((await rejection(parseKerasH5(strings, 's.h5'))).message).toMatch(/dataset 's\/w' has HDF5 type class 3/);
  });

  it('the writer refuses tensors outside layerOrder and malformed names', async () => {
    const { tensors } = tinyModel();
    await expect(writeKerasH5(tensors, ['block1_conv1'])).rejects.toThrow(/belongs to a layer missing from layerOrder/);
    await expect(writeKerasH5(new Map([['flat', { shape: [1], data: new Float32Array(1) }]]), ['flat'])).rejects.toThrow(/not <layer>\/<weight>/);
  });
});
