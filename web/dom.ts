/** Typed element lookup: the page's ids are fixed, so a missing one is a bug in index.html. */
export function el<T extends HTMLElement = HTMLElement>(id: string): T {
  const e = document.getElementById(id);
  if (!e) throw new Error(`page is missing #${id}`);
  return e as T;
}

export function numberInput(id: string, min: number, max: number): number {
  const input = el<HTMLInputElement>(id);
  const v = Number(input.value);
  const label = input.closest('label')?.firstChild?.textContent?.trim() ?? id;
  if (!Number.isFinite(v) || v < min || v > max) throw new Error(`${label}: enter a number from ${min} to ${max} (got "${input.value}")`);
  return v;
}

export function formatBytes(n: number): string {
  if (n >= 1 << 20) return `${(n / (1 << 20)).toFixed(1)} MiB`;
  if (n >= 1 << 10) return `${(n / (1 << 10)).toFixed(1)} KiB`;
  return `${n} B`;
}

/** A class's row: "name 12.3%" over a bar filled to the probability, the class and probability in data attributes. */
export function probabilityRow(tag: 'li' | 'div', className: string, probability: number): HTMLElement {
  const row = document.createElement(tag);
  row.dataset['class'] = className;
  row.dataset['probability'] = String(probability);
  const label = document.createElement('span');
  label.className = 'label';
  label.textContent = `${className} ${(probability * 100).toFixed(1)}%`;
  const bar = document.createElement('div');
  bar.className = 'bar';
  const fill = document.createElement('div');
  fill.style.width = `${(probability * 100).toFixed(1)}%`;
  bar.append(fill);
  row.append(label, bar);
  return row;
}

/** RGB bytes (height × width × 3) as opaque ImageData for a canvas. */
export function rgbImageData(rgb: ArrayLike<number>, width: number, height: number): ImageData {
  const rgba = new Uint8ClampedArray(width * height * 4);
  for (let i = 0, j = 0; i < rgb.length; i += 3, j += 4) {
    rgba[j] = rgb[i]!;
    rgba[j + 1] = rgb[i + 1]!;
    rgba[j + 2] = rgb[i + 2]!;
    rgba[j + 3] = 255;
  }
  return new ImageData(rgba, width, height);
}
