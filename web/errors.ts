/** Shows errors to the person using the page (not only in the console): a dismissible banner per distinct message. */

export interface ShownError {
  title: string;
  message: string;
}

const shown: ShownError[] = [];

function box(): HTMLElement {
  const el = document.getElementById('errors');
  if (!el) throw new Error('page is missing #errors');
  return el;
}

/** A short title and a message a person can act on, for any thrown value. */
export function describeError(e: unknown, context?: string): ShownError {
  const err = e instanceof Error ? e : new Error(String(e));
  const name = err.name;
  let title = context ?? 'Error';
  let message = err.message || String(e);
  if (name === 'GpuError') {
    const kind = (err as Error & { kind?: string }).kind;
    title = kind === 'device-lost' ? 'The GPU was lost' : kind === 'out-of-memory' ? 'Out of GPU memory' : 'GPU error';
    if (kind === 'device-lost') message += '\nReload the page to start again (the browser may have reset the GPU).';
  } else if (name === 'BadImageError' || name === 'BadImagesError' || name === 'EncodingError' || /source image|bitmap/i.test(message)) {
    title = context ?? 'Bad image';
  }
  return { title, message };
}

export function showError(e: unknown, context?: string): ShownError {
  const d = describeError(e, context);
  console.error(`${d.title}:`, e);
  const el = box();
  // Repeated failures (e.g. one per batch) collapse into one entry with a counter.
  for (const node of Array.from(el.children)) {
    const h = node as HTMLElement;
    if (h.dataset.key === `${d.title}\n${d.message}`) {
      const n = Number(h.dataset.count ?? '1') + 1;
      h.dataset.count = String(n);
      h.querySelector('.count')!.textContent = ` (×${n})`;
      return d;
    }
  }
  shown.push(d);
  const item = document.createElement('div');
  item.className = 'error';
  item.setAttribute('role', 'alert');
  item.dataset.key = `${d.title}\n${d.message}`;
  const strong = document.createElement('strong');
  strong.textContent = `${d.title}:`;
  const text = document.createElement('span');
  text.textContent = d.message;
  const count = document.createElement('span');
  count.className = 'count';
  const close = document.createElement('button');
  close.type = 'button';
  close.textContent = '×';
  close.title = 'Dismiss';
  close.addEventListener('click', () => {
    item.remove();
    if (el.children.length === 0) el.hidden = true;
  });
  item.append(strong, text, count, close);
  el.append(item);
  el.hidden = false;
  return d;
}

/** Every error shown since the page loaded (the browser test reads these). */
export function shownErrors(): readonly ShownError[] {
  return shown;
}

/** Uncaught errors and rejections end up in the banner too. */
export function catchUncaught(): void {
  window.addEventListener('error', (ev) => showError(ev.error ?? ev.message, 'Unexpected error'));
  window.addEventListener('unhandledrejection', (ev) => showError(ev.reason, 'Unexpected error'));
}
