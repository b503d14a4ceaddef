/** A file that cannot be used as an image, with the reason in words. */
export class BadImageError extends Error {
  constructor(
    readonly path: string,
    readonly reason: string,
  ) {
    super(`${path}: ${reason}`);
    this.name = 'BadImageError';
  }
}

export interface BadImage {
  path: string;
  reason: string;
}

/** Every bad file found by a scan, one per line, so a dataset can be fixed in one go. */
export class BadImagesError extends Error {
  constructor(
    readonly bad: BadImage[],
    where: string,
  ) {
    super(`${bad.length} bad image file${bad.length === 1 ? '' : 's'} in ${where} (fix or remove them, or pass onBadImage: 'skip'):\n${formatBadImages(bad)}`);
    this.name = 'BadImagesError';
  }
}

export function formatBadImages(bad: BadImage[]): string {
  return bad.map((b) => `  ${b.path}: ${b.reason}`).join('\n');
}

/** A dataset folder that does not have the flow_from_directory layout (class sub-folders holding images). */
export class DatasetLayoutError extends Error {
  constructor(
    message: string,
    readonly folder: string,
  ) {
    super(message);
    this.name = 'DatasetLayoutError';
  }
}
