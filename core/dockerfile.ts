// Rewriting the image references of a Dockerfile (FROM, COPY/ADD --from, RUN --mount from=) and a
// compose file (`image:`) through the configured map, so a task that says `FROM ubuntu:24.04` or
// `COPY --from=ghcr.io/astral-sh/uv:0.5 /uv /bin/` builds where no registry can be reached.

/** One image reference the build changed, for the run's report. */
export interface ImageMapping {
  from: string;
  to: string;
  /** Where the reference was: `FROM`, `COPY --from`, `ADD --from`, `RUN --mount`, `compose image`, `docker_image`. */
  where: string;
}

export interface BaseImageRewrite {
  dockerfile: string;
  /** Every external base image named by FROM, after mapping, in order. */
  bases: string[];
  rewrites: ImageMapping[];
}

const FROM_LINE = /^(\s*FROM\s+)((?:--\S+\s+)*)(\S+)(.*)$/i;
const COPY_FROM = /^(\s*(COPY|ADD)\s+(?:--\S+\s+)*?--from=)(\S+)/i;
const MOUNT_FROM = /(--mount=\S*?\bfrom=)([^,\s]+)/gi;

/** A `--from` value that names an image, not a build stage (by name or index) or a variable. */
function isImageRef(ref: string, stages: Set<string>): boolean {
  return !stages.has(ref.toLowerCase()) && !/^\d+$/.test(ref) && !ref.includes('$');
}

/** Every image a Dockerfile references (FROM, --from, --mount from=), stage names excluded. */
export function imageReferences(dockerfile: string): string[] {
  const refs = new Set<string>();
  rewriteBaseImages(dockerfile, (image) => {
    refs.add(image);
    return undefined;
  });
  return [...refs];
}

/**
 * Maps each image reference through `resolve` (which returns undefined to leave it alone):
 * `FROM image`, `COPY --from=image` / `ADD --from=image`, `RUN --mount=...,from=image`. Names of
 * earlier build stages (`FROM base AS builder` ... `COPY --from=builder`) are not images.
 */
export function rewriteBaseImages(
  dockerfile: string,
  resolve: (image: string) => string | undefined,
): BaseImageRewrite {
  const stages = new Set<string>();
  const bases: string[] = [];
  const rewrites: ImageMapping[] = [];
  const map = (image: string, where: string): string => {
    const to = resolve(image);
    if (to && to !== image) {
      rewrites.push({ from: image, to, where });
      return to;
    }
    return image;
  };
  const lines = dockerfile.split('\n').map((line) => {
    const m = FROM_LINE.exec(line);
    if (m) {
      const [, head, flags, image, rest] = m as unknown as [string, string, string, string, string];
      const stage = /\bAS\s+(\S+)/i.exec(rest)?.[1];
      let out = line;
      if (isImageRef(image, stages)) {
        const to = map(image, 'FROM');
        if (to !== image) out = `${head}${flags}${to}${rest}`;
        bases.push(to);
      }
      if (stage) stages.add(stage.toLowerCase());
      return out;
    }
    let out = line;
    const c = COPY_FROM.exec(out);
    if (c && isImageRef(c[3]!, stages)) {
      const to = map(c[3]!, `${c[2]!.toUpperCase()} --from`);
      out = `${c[1]}${to}${out.slice(c[0].length)}`;
    }
    if (/^\s*RUN\s/i.test(out))
      out = out.replace(MOUNT_FROM, (all, head: string, ref: string) =>
        isImageRef(ref, stages) ? `${head}${map(ref, 'RUN --mount')}` : all,
      );
    return out;
  });
  return { dockerfile: lines.join('\n'), bases, rewrites };
}

/**
 * Maps the `image:` of every compose service through `resolve`, in place on a parsed compose
 * document; a service with a `build` section names the image it builds, which is not mapped.
 */
export function rewriteComposeImages(
  compose: { services?: Record<string, unknown> },
  resolve: (image: string) => string | undefined,
): ImageMapping[] {
  const rewrites: ImageMapping[] = [];
  for (const svc of Object.values(compose.services ?? {})) {
    if (!svc || typeof svc !== 'object') continue;
    const s = svc as { image?: unknown; build?: unknown };
    if (typeof s.image !== 'string' || s.build !== undefined || s.image.includes('$')) continue;
    const to = resolve(s.image);
    if (to && to !== s.image) {
      rewrites.push({ from: s.image, to, where: 'compose image' });
      s.image = to;
    }
  }
  return rewrites;
}

/** The report's list of mappings applied, per task (empty string when none). */
export function renderImageMappings(byTask: Record<string, ImageMapping[]>): string {
  const rows = Object.entries(byTask)
    .sort(([a], [b]) => a.localeCompare(b))
    .flatMap(([task, ms]) => ms.map((m) => `| ${task} | ${m.where} | ${m.from} | ${m.to} |`));
  if (rows.length === 0) return '';
  return [
    '',
    'Image references mapped (images.baseImages):',
    '',
    '| task | where | image | mapped to |',
    '|---|---|---|---|',
    ...rows,
    '',
  ].join('\n');
}
