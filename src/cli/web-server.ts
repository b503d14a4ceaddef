import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { readdir, readFile, realpath, stat } from 'node:fs/promises';
import { basename, extname, join, resolve, sep } from 'node:path';

/**
 * The local server behind the browser app: static files from web/ plus read-only endpoints for the demo images
 * and for weights. Everything is GET-only, bound to a loopback address, and refuses paths that leave its roots.
 */
export interface WebServerOptions {
  /** Folder served as the site (index.html, dist/app.js, styles). */
  webDir: string;
  /** Image folder tree `<split>/<class>/<image>` (cats_and_dogs_small), served as the set named by its folder. */
  dataDir?: string;
  /**
   * Demo sets by name (e.g. cats_and_dogs_small, flowers12), each an image folder tree like `dataDir`; the first is
   * the default (`/api/data`). Given, it replaces `dataDir`. A missing folder is listed as not available.
   */
  dataSets?: readonly DataSetEntry[];
  /** Folder of ready `.safetensors` files (the repository's weights/). */
  weightsDir?: string;
  /** Folder of NumPy weight folders `<model>/weights/*.npy` (../shared/weights), converted on request. */
  npyWeightsDir?: string;
  /** Turns a folder of .npy files into safetensors bytes (the formats module's npy reader + writer). */
  npyToSafetensors?: (dir: string, model: string) => Promise<Uint8Array>;
  port?: number;
  host?: string;
}

export interface WebServer {
  url: string;
  port: number;
  server: Server;
  close(): Promise<void>;
}

export interface WeightsEntry {
  /** Name used in the URL `/api/weights/<name>.safetensors`. */
  name: string;
  /** 'file': a safetensors file in weights/; 'npy': converted on the fly from a NumPy folder. */
  source: 'file' | 'npy';
  bytes: number | null;
}

export interface DataSetEntry {
  /** Name in the URLs (`/api/data/<name>`): a safe path segment. */
  name: string;
  dir: string;
}

export interface DataListing {
  /** The set's name (`/api/data/<set>/<split>/<class>/<image>` serves its images). */
  set?: string;
  available: boolean;
  /** split → class (sorted, as flow_from_directory numbers them) → sorted file names. */
  splits: Record<string, Record<string, string[]>>;
}

const LOOPBACK = new Set(['127.0.0.1', '::1', 'localhost']);
const SAFE_SEGMENT = /^[A-Za-z0-9_][A-Za-z0-9_.\- ]*$/;
const IMAGE_EXT = new Set(['.jpg', '.jpeg', '.png', '.bmp', '.gif', '.webp']);
const MIME: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.map': 'application/json; charset=utf-8',
  '.json': 'application/json; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.ico': 'image/x-icon',
  '.jpg': 'image/jpeg',
  '.jpeg': 'image/jpeg',
  '.bmp': 'image/bmp',
  '.gif': 'image/gif',
  '.webp': 'image/webp',
  '.safetensors': 'application/octet-stream',
};
const STATIC_EXT = new Set(['.html', '.css', '.js', '.map', '.json', '.svg', '.png', '.ico']);

/**
 * What the page may load: only this origin; images also from blob: URLs the page makes from the user's own
 * files. `connect-src 'self'` is what keeps a user's images and models in the tab.
 */
const CSP =
  "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' blob: data:; " +
  "connect-src 'self'; worker-src 'self' blob:; object-src 'none'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'";

class HttpError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

/** Splits a URL path into decoded segments, refusing anything that could name a file outside the root. */
export function safeSegments(pathname: string): string[] {
  let decoded: string[];
  try {
    decoded = pathname.split('/').filter((s) => s.length > 0).map((s) => decodeURIComponent(s));
  } catch {
    throw new HttpError(400, 'malformed path');
  }
  for (const s of decoded) {
    if (!SAFE_SEGMENT.test(s) || s.includes('..')) throw new HttpError(403, 'path refused');
  }
  return decoded;
}

/** Resolves `segments` under `root` and checks, after following links, that the file stays inside it. */
async function fileInside(root: string, segments: string[]): Promise<string> {
  const rootReal = await realpath(root).catch(() => {
    throw new HttpError(404, 'not found');
  });
  const candidate = resolve(rootReal, ...segments);
  if (candidate !== rootReal && !candidate.startsWith(rootReal + sep)) throw new HttpError(403, 'path refused');
  const real = await realpath(candidate).catch(() => {
    throw new HttpError(404, 'not found');
  });
  if (!real.startsWith(rootReal + sep)) throw new HttpError(403, 'path refused');
  const st = await stat(real);
  if (!st.isFile()) throw new HttpError(404, 'not found');
  return real;
}

async function subdirs(dir: string): Promise<string[]> {
  const entries = await readdir(dir, { withFileTypes: true }).catch(() => []);
  return entries.filter((e) => e.isDirectory() && SAFE_SEGMENT.test(e.name)).map((e) => e.name).sort();
}

/** The demo sets a server offers: `dataSets`, or `dataDir` as one set named by its folder. */
export function dataSetsOf(opts: Pick<WebServerOptions, 'dataDir' | 'dataSets'>): DataSetEntry[] {
  const sets = opts.dataSets ? [...opts.dataSets] : opts.dataDir ? [{ name: basename(opts.dataDir), dir: opts.dataDir }] : [];
  for (const s of sets) if (!SAFE_SEGMENT.test(s.name)) throw new Error(`web: demo set name '${s.name}' is not a safe URL segment`);
  return sets;
}

/** Which demo sets there are and whether their folders hold images (`/api/datasets`). */
export async function listDataSets(opts: Pick<WebServerOptions, 'dataDir' | 'dataSets'>): Promise<{ name: string; available: boolean; classes: number }[]> {
  return Promise.all(
    dataSetsOf(opts).map(async (s) => {
      const train = await subdirs(join(s.dir, 'train'));
      return { name: s.name, available: train.length > 0, classes: train.length };
    }),
  );
}

export async function listData(dataDir: string | undefined, set?: string): Promise<DataListing> {
  if (!dataDir) return { ...(set ? { set } : {}), available: false, splits: {} };
  const splits: DataListing['splits'] = {};
  for (const split of await subdirs(dataDir)) {
    const classes: Record<string, string[]> = {};
    for (const cls of await subdirs(join(dataDir, split))) {
      const files = await readdir(join(dataDir, split, cls), { withFileTypes: true });
      classes[cls] = files
        .filter((f) => f.isFile() && SAFE_SEGMENT.test(f.name) && IMAGE_EXT.has(extname(f.name).toLowerCase()))
        .map((f) => f.name)
        .sort(naturalCompare);
    }
    if (Object.keys(classes).length > 0) splits[split] = classes;
  }
  return { ...(set ? { set } : {}), available: Object.keys(splits).length > 0, splits };
}

/** cat.2.jpg before cat.10.jpg, so "the first N images" is the order a person expects. */
function naturalCompare(a: string, b: string): number {
  return a.localeCompare(b, 'en', { numeric: true });
}

export async function listWeights(opts: WebServerOptions): Promise<WeightsEntry[]> {
  const out: WeightsEntry[] = [];
  if (opts.weightsDir) {
    const files = await readdir(opts.weightsDir, { withFileTypes: true }).catch(() => []);
    for (const f of files) {
      if (!f.isFile() || !f.name.endsWith('.safetensors') || !SAFE_SEGMENT.test(f.name)) continue;
      const st = await stat(join(opts.weightsDir, f.name));
      out.push({ name: f.name.slice(0, -'.safetensors'.length), source: 'file', bytes: st.size });
    }
  }
  if (opts.npyWeightsDir && opts.npyToSafetensors) {
    for (const model of await subdirs(opts.npyWeightsDir)) {
      if (out.some((w) => w.name === model)) continue;
      const files = await readdir(join(opts.npyWeightsDir, model, 'weights')).catch(() => [] as string[]);
      if (files.some((f) => f.endsWith('.npy'))) out.push({ name: model, source: 'npy', bytes: null });
    }
  }
  return out.sort((a, b) => a.name.localeCompare(b.name));
}

export async function startWebServer(opts: WebServerOptions): Promise<WebServer> {
  const host = opts.host ?? '127.0.0.1';
  if (!LOOPBACK.has(host)) {
    throw new Error(`web: refusing to listen on ${host}; this server is for this machine only (use 127.0.0.1, ::1 or localhost)`);
  }
  const converted = new Map<string, Promise<Uint8Array>>();
  const sets = dataSetsOf(opts);
  const setNamed = (name: string): DataSetEntry => {
    const s = sets.find((x) => x.name === name);
    if (!s) throw new HttpError(404, `no demo set named ${name} (this server has ${sets.map((x) => x.name).join(', ') || 'none'})`);
    return s;
  };
  const sendImage = async (req: IncomingMessage, res: ServerResponse, dir: string, rel: string[]): Promise<void> => {
    if (!IMAGE_EXT.has(extname(rel[rel.length - 1]!).toLowerCase())) throw new HttpError(404, 'not an image');
    const file = await fileInside(dir, rel);
    return sendBytes(req, res, await readFile(file), MIME[extname(file).toLowerCase()]!, 'max-age=3600');
  };

  const weightsBytes = async (name: string): Promise<Uint8Array> => {
    const entry = (await listWeights(opts)).find((w) => w.name === name);
    if (!entry) throw new HttpError(404, `no weights named ${name}`);
    if (entry.source === 'file') return readFile(await fileInside(opts.weightsDir!, [`${name}.safetensors`]));
    let p = converted.get(name);
    if (!p) {
      p = opts.npyToSafetensors!(join(opts.npyWeightsDir!, name, 'weights'), name);
      converted.set(name, p);
      p.catch(() => converted.delete(name));
    }
    return p;
  };

  const handle = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    if (req.method !== 'GET' && req.method !== 'HEAD') throw new HttpError(405, 'read-only server');
    const url = new URL(req.url ?? '/', 'http://localhost');
    const seg = safeSegments(url.pathname);
    if (seg[0] === 'api') {
      // /api/data and /api/data/<split>/<class>/<image>: the default (first) set; /api/data/<set>[/<split>/<class>/<image>]: a named one.
      if (seg.length === 2 && seg[1] === 'datasets') return sendJson(req, res, await listDataSets(opts));
      if (seg.length === 2 && seg[1] === 'data') return sendJson(req, res, await listData(sets[0]?.dir, sets[0]?.name));
      if (seg.length === 3 && seg[1] === 'data') {
        const s = setNamed(seg[2]!);
        return sendJson(req, res, await listData(s.dir, s.name));
      }
      if (seg.length === 2 && seg[1] === 'weights') return sendJson(req, res, await listWeights(opts));
      if (seg.length === 5 && seg[1] === 'data' && sets[0]) return sendImage(req, res, sets[0].dir, seg.slice(2));
      if (seg.length === 6 && seg[1] === 'data') return sendImage(req, res, setNamed(seg[2]!).dir, seg.slice(3));
      if (seg.length === 3 && seg[1] === 'weights' && seg[2]!.endsWith('.safetensors')) {
        const bytes = await weightsBytes(seg[2]!.slice(0, -'.safetensors'.length));
        return sendBytes(req, res, bytes, MIME['.safetensors']!, 'no-cache');
      }
      throw new HttpError(404, 'no such endpoint');
    }
    const rel = seg.length === 0 ? ['index.html'] : seg;
    const ext = extname(rel[rel.length - 1]!).toLowerCase();
    if (!STATIC_EXT.has(ext)) throw new HttpError(404, 'not found');
    const file = await fileInside(opts.webDir, rel);
    return sendBytes(req, res, await readFile(file), MIME[ext]!, 'no-cache');
  };

  const server = createServer((req, res) => {
    handle(req, res).catch((e: unknown) => {
      const status = e instanceof HttpError ? e.status : 500;
      const message = e instanceof Error ? e.message : String(e);
      if (!res.headersSent) {
        res.writeHead(status, { 'content-type': 'text/plain; charset=utf-8', 'x-content-type-options': 'nosniff' });
      }
      res.end(status === 500 ? `server error: ${message}` : message);
    });
  });
  await new Promise<void>((ok, fail) => {
    server.once('error', fail);
    server.listen(opts.port ?? 8080, host, () => {
      server.off('error', fail);
      ok();
    });
  });
  const addr = server.address();
  const port = typeof addr === 'object' && addr ? addr.port : (opts.port ?? 8080);
  const shownHost = host.includes(':') ? `[${host}]` : host;
  return {
    url: `http://${shownHost}:${port}/`,
    port,
    server,
    close: () =>
      new Promise<void>((ok) => {
        server.close(() => ok());
        server.closeAllConnections();
      }),
  };
}

function securityHeaders(): Record<string, string> {
  return {
    'content-security-policy': CSP,
    'x-content-type-options': 'nosniff',
    'referrer-policy': 'no-referrer',
    'cross-origin-resource-policy': 'same-origin',
  };
}

function sendJson(req: IncomingMessage, res: ServerResponse, value: unknown): void {
  sendBytes(req, res, new TextEncoder().encode(JSON.stringify(value)), MIME['.json']!, 'no-cache');
}

function sendBytes(req: IncomingMessage, res: ServerResponse, bytes: Uint8Array, type: string, cache: string): void {
  res.writeHead(200, { ...securityHeaders(), 'content-type': type, 'content-length': String(bytes.byteLength), 'cache-control': cache });
  res.end(req.method === 'HEAD' ? undefined : bytes);
}
