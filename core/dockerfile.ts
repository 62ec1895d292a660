// Rewriting a Dockerfile's base images through the configured map, so a task that says
// `FROM ubuntu:24.04` builds where no registry can be reached.

export interface BaseImageRewrite {
  dockerfile: string;
  /** Every external base image named, after mapping, in order. */
  bases: string[];
  rewrites: { from: string; to: string }[];
}

const FROM_LINE = /^(\s*FROM\s+)((?:--\S+\s+)*)(\S+)(.*)$/i;

/**
 * Maps each `FROM image` through `resolve` (which returns undefined to leave it alone).
 * Names of earlier build stages (`FROM base AS builder` ... `FROM builder`) are not images.
 */
export function rewriteBaseImages(
  dockerfile: string,
  resolve: (image: string) => string | undefined,
): BaseImageRewrite {
  const stages = new Set<string>();
  const bases: string[] = [];
  const rewrites: { from: string; to: string }[] = [];
  const lines = dockerfile.split('\n').map((line) => {
    const m = FROM_LINE.exec(line);
    if (!m) return line;
    const [, head, flags, image, rest] = m as unknown as [string, string, string, string, string];
    const stage = /\bAS\s+(\S+)/i.exec(rest)?.[1];
    let out = line;
    if (!stages.has(image.toLowerCase()) && !image.includes('$')) {
      const to = resolve(image);
      if (to && to !== image) {
        rewrites.push({ from: image, to });
        out = `${head}${flags}${to}${rest}`;
      }
      bases.push(to ?? image);
    }
    if (stage) stages.add(stage.toLowerCase());
    return out;
  });
  return { dockerfile: lines.join('\n'), bases, rewrites };
}
