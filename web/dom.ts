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
