// Task images: built from the task's Dockerfile (cached by a content hash of its context), taken
// as named (a prebuilt image), or for SWE-bench the official image if present, else built from a
// recipe in config. Dockerode only; build output reaches the user when a step fails.
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import {
  mkdtempSync,
  readdirSync,
  readFileSync,
  readlinkSync,
  rmSync,
  lstatSync,
  writeFileSync,
  existsSync,
} from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import tarFs from 'tar-fs';
import { interpolateService } from '../core/compose';
import { mapBaseImage, type Config } from '../core/config';
import { imageReferences, rewriteBaseImages, type ImageMapping } from '../core/dockerfile';
import { caBundle, caFiles, injectCaLayer, CA_ROOT_DIR, wrapWithCa, type CaBundle } from './certificates';
import { slug, type Task } from '../core/task';
import { getDocker as docker } from './docker';
import { childEnv } from './secrets';

export class ImageError extends Error {
  override name = 'ImageError';
}

export interface PreparedImage {
  image: string;
  /** 'cached' when an image with the same content hash already existed. */
  how: 'built' | 'cached' | 'prebuilt' | 'official';
  rewrites?: ImageMapping[];
}

export async function imageExists(name: string): Promise<boolean> {
  try {
    await docker().getImage(name).inspect();
    return true;
  } catch {
    return false;
  }
}

/** Content hash of a build context: every path, mode and content (symlinks by target). */
export function hashContext(dir: string): string {
  const h = createHash('sha256');
  const walk = (rel: string) => {
    const abs = path.join(dir, rel);
    for (const name of readdirSync(abs).sort()) {
      const r = path.join(rel, name);
      const st = lstatSync(path.join(dir, r));
      h.update(`${r}\0${st.mode}\0`);
      if (st.isSymbolicLink()) h.update(readlinkSync(path.join(dir, r)));
      else if (st.isDirectory()) walk(r);
      else h.update(readFileSync(path.join(dir, r)));
      h.update('\0');
    }
  };
  walk('');
  return h.digest('hex');
}

/** Maps an image reference (FROM, --from) when it is not present locally and the config maps it. */
async function baseResolver(config: Config, dockerfile: string) {
  const names = imageReferences(dockerfile);
  const present = new Map(await Promise.all(names.map(async (n) => [n, await imageExists(n)] as const)));
  return (image: string) => (present.get(image) ? undefined : mapBaseImage(image, config.images.baseImages));
}

type Progress = (line: string) => void;

/** Runs a build and resolves when it ends; a failed step rejects with the step's output. */
/** tar-fs packs are streamx streams: dockerode pipes them like any readable. */
const asStream = (pack: unknown) => pack as NodeJS.ReadableStream;

async function build(
  context: NodeJS.ReadableStream,
  opts: { tag: string; dockerfile: string; labels: Record<string, string> },
  onLine?: Progress,
) {
  const lines: string[] = [];
  const stream = await docker().buildImage(context, {
    t: opts.tag,
    dockerfile: opts.dockerfile,
    labels: opts.labels,
    rm: true,
    forcerm: true,
  });
  await new Promise<void>((resolve, reject) => {
    docker().modem.followProgress(
      stream,
      (err: Error | null, events: { error?: string; errorDetail?: { message?: string } }[]) => {
        const failed = err ?? events.find((e) => e.error || e.errorDetail);
        if (!failed) return resolve();
        const message = err ? err.message : ((failed as { error?: string }).error ?? 'build failed');
        const tail = lines.slice(-40).join('\n');
        reject(
          new ImageError(`building ${opts.tag} failed: ${message.trim()}\n--- build output (last lines) ---\n${tail}`),
        );
      },
      (event: { stream?: string; status?: string }) => {
        const text = event.stream ?? event.status;
        if (!text) return;
        for (const line of text.split('\n'))
          if (line.trim()) {
            lines.push(line);
            onLine?.(line);
          }
      },
    );
  });
}

async function buildFromDockerfile(
  task: Task,
  env: { contextDir: string; dockerfile: string },
  config: Config,
  onLine?: Progress,
): Promise<PreparedImage> {
  const dockerfilePath = path.join(env.contextDir, env.dockerfile);
  if (!existsSync(dockerfilePath)) throw new ImageError(`${dockerfilePath}: Dockerfile not found`);
  const original = readFileSync(dockerfilePath, 'utf8');
  const mapped = rewriteBaseImages(original, await baseResolver(config, original));
  const rewrites = mapped.rewrites;
  // Extra CA certificates are trusted from each stage's start, so the build's own downloads work.
  const ca = caBundle(config.sandbox.caCertificates);
  const dockerfile = ca ? injectCaLayer(mapped.dockerfile) : mapped.dockerfile;
  const hash = createHash('sha256')
    .update(hashContext(env.contextDir))
    .update(dockerfile)
    .update(ca?.hash ?? '')
    .digest('hex')
    .slice(0, 16);
  const tag = `agentscale/task-${slug(task.id)}:${hash}`;
  if (await imageExists(tag)) return { image: tag, how: 'cached', rewrites };

  // The rewritten Dockerfile (and the CA files) travel beside the task's own files, so its
  // context stays as the task has it.
  const generated = '.agentscale.Dockerfile';
  // A task's .dockerignore may exclude everything it does not name: it gets an exception for
  // the CA files, so the COPY of them finds them (the task's own file on disk is unchanged).
  const ignoreFile = path.join(env.contextDir, '.dockerignore');
  const ignoreText = ca && existsSync(ignoreFile) ? readFileSync(ignoreFile, 'utf8') : undefined;
  const pack = tarFs.pack(env.contextDir, {
    finalize: false,
    ...(ignoreText !== undefined && { ignore: (name: string) => name === ignoreFile }),
    finish: (p) => {
      p.entry({ name: generated }, dockerfile);
      for (const f of ca ? caFiles(ca) : []) p.entry({ name: `${CA_ROOT_DIR}/${f.path}`, mode: 0o644 }, f.content);
      if (ignoreText !== undefined)
        p.entry({ name: '.dockerignore' }, `${ignoreText.replace(/\n?$/, '\n')}!${CA_ROOT_DIR}\n!${CA_ROOT_DIR}/**\n`);
      p.finalize();
    },
  });
  await build(
    asStream(pack),
    { tag, dockerfile: generated, labels: { 'agentscale.task': task.id, 'agentscale.context': hash } },
    onLine,
  );
  return { image: tag, how: 'built', rewrites };
}

async function buildSwebench(
  task: Task,
  env: Extract<Task['environment'], { kind: 'swebench' }>,
  config: Config,
  onLine?: Progress,
): Promise<PreparedImage> {
  for (const name of [env.officialImage, ...env.officialImageAliases]) {
    if (await imageExists(name)) return { image: name, how: 'official' };
  }
  const recipe = config.swebench.recipes[env.repo];
  if (!recipe) {
    throw new ImageError(
      `${task.source} [${task.id}]: no image ${env.officialImage} on this machine and no recipe for repo ` +
        `"${env.repo}": add swebench.recipes["${env.repo}"] (source, install) to the config, or load the official image`,
    );
  }
  if (!existsSync(recipe.source))
    throw new ImageError(`config swebench.recipes["${env.repo}"].source: not found: ${recipe.source}`);
  const base = (await imageExists(recipe.baseImage))
    ? recipe.baseImage
    : (mapBaseImage(recipe.baseImage, config.images.baseImages) ?? recipe.baseImage);
  const install = recipe.install.map((c) => `RUN ${c}`).join('\n');
  const dockerfile = [
    `FROM ${base}`,
    'COPY repo /testbed',
    'WORKDIR /testbed',
    // A clean worktree at base_commit: the agent's `git diff` is then exactly its change.
    `RUN git config --global --add safe.directory /testbed && git -c advice.detachedHead=false checkout -q ${env.baseCommit} && git remote remove origin || true`,
    // The harness's eval scripts start with `source /opt/miniconda3/bin/activate; conda activate
    // testbed`; offline images have no conda, so that file defines a conda that does nothing.
    `RUN mkdir -p /opt/miniconda3/bin && printf '%s\\n' '# agentscale: no conda in this offline image' 'conda() { :; }' > /opt/miniconda3/bin/activate`,
    install,
    '',
  ].join('\n');
  const hash = createHash('sha256')
    .update(JSON.stringify({ recipe, base, commit: env.baseCommit, dockerfile }))
    .digest('hex')
    .slice(0, 16);
  const tag = `agentscale/sweb-${slug(task.id)}:${hash}`;
  if (await imageExists(tag)) return { image: tag, how: 'cached' };

  const ctx = mkdtempSync(path.join(os.tmpdir(), 'agentscale-sweb-'));
  try {
    try {
      cloneSource(recipe.source, path.join(ctx, 'repo'), childEnv(config.model));
      execFileSync('git', ['-C', path.join(ctx, 'repo'), 'cat-file', '-e', `${env.baseCommit}^{commit}`], {
        stdio: 'pipe',
        env: childEnv(config.model),
      });
      onlyHistoryUpTo(path.join(ctx, 'repo'), env.baseCommit);
    } catch (e) {
      const err = (e as { stderr?: Buffer }).stderr?.toString() ?? String(e);
      throw new ImageError(`${task.id}: cannot get base_commit ${env.baseCommit} from ${recipe.source}: ${err.trim()}`);
    }
    writeFileSync(path.join(ctx, 'Dockerfile'), dockerfile);
    await build(
      asStream(tarFs.pack(ctx)),
      { tag, dockerfile: 'Dockerfile', labels: { 'agentscale.task': task.id } },
      onLine,
    );
  } finally {
    rmSync(ctx, { recursive: true, force: true });
  }
  return { image: tag, how: 'built' };
}

/**
 * A clone of a recipe's source: a repository (working tree or bare) or a git bundle. A bundle made
 * from a shallow clone (`git clone --depth 1` of each base commit, then `git bundle create --all`)
 * lacks its commits' parents, so `git clone` refuses it; it is fetched into a shallow repository
 * whose boundary is the bundle's heads instead. Such a bundle is a few MB where the history is
 * hundreds, which is what a CI fixture or an air-gapped transfer of a few instances needs.
 */
function cloneSource(source: string, dest: string, env: NodeJS.ProcessEnv) {
  const git = (args: string[], cwd?: string) => execFileSync('git', args, { cwd, stdio: 'pipe', env }).toString();
  try {
    git(['clone', '--quiet', '--no-hardlinks', source, dest]);
    return;
  } catch (e) {
    if (!lstatSync(source).isFile()) throw e;
    rmSync(dest, { recursive: true, force: true });
  }
  const heads = git(['bundle', 'list-heads', source])
    .split('\n')
    .map((l) => l.split(' ')[0])
    .filter((h): h is string => !!h && /^[0-9a-f]{40}$/.test(h));
  git(['init', '--quiet', dest]);
  writeFileSync(path.join(dest, '.git', 'shallow'), [...new Set(heads)].join('\n') + '\n');
  git(['fetch', '--quiet', '--update-head-ok', source, 'refs/*:refs/*'], dest);
}

/**
 * Leaves a clone with the history up to `commit` and nothing later, as the harness's images are
 * made (`git reset --hard`, remote and newer tags removed): HEAD detached at the commit, branches,
 * remote refs and tags that are not its ancestors deleted, unreachable objects pruned. An agent
 * must not find the fix in `git log --all`.
 */
function onlyHistoryUpTo(repo: string, commit: string) {
  const git = (...args: string[]) => execFileSync('git', ['-C', repo, ...args], { stdio: 'pipe' }).toString();
  git('-c', 'advice.detachedHead=false', 'checkout', '-q', '--detach', commit);
  const keep = new Set(
    git('tag', '--merged', commit)
      .split('\n')
      .filter(Boolean)
      .map((t) => `refs/tags/${t}`),
  );
  const refs = git('for-each-ref', '--format=%(refname)').split('\n').filter(Boolean);
  for (const ref of refs) if (!keep.has(ref)) git('update-ref', '-d', ref);
  git('reflog', 'expire', '--expire=now', '--all');
  git('gc', '--prune=now', '--quiet');
}

/** The image a task's sandboxes start from, building it when needed (with the CA layer when configured). */
export async function prepareTaskImage(task: Task, config: Config, onLine?: Progress): Promise<PreparedImage> {
  const prepared = await prepareUntrusted(task, config, onLine);
  const ca = caBundle(config.sandbox.caCertificates);
  if (!ca || task.environment.kind === 'dockerfile') return prepared; // built with the CA already
  return { ...prepared, image: await withCa(prepared.image, ca, onLine) };
}

/** A thin image over `image` that trusts the extra CAs, built once per (image, bundle). */
async function withCa(image: string, ca: CaBundle, onLine?: Progress): Promise<string> {
  const info = await docker().getImage(image).inspect();
  const tag = `agentscale/ca:${createHash('sha256').update(info.Id).update(ca.hash).digest('hex').slice(0, 16)}`;
  if (await imageExists(tag)) return tag;
  const pack = tarFs.pack(os.tmpdir(), {
    entries: [],
    finalize: false,
    finish: (p) => {
      p.entry({ name: 'Dockerfile' }, wrapWithCa(image, info.Config.User ?? ''));
      for (const f of caFiles(ca)) p.entry({ name: `${CA_ROOT_DIR}/${f.path}`, mode: 0o644 }, f.content);
      p.finalize();
    },
  });
  await build(asStream(pack), { tag, dockerfile: 'Dockerfile', labels: { 'agentscale.ca-of': image } }, onLine);
  return tag;
}

async function prepareUntrusted(task: Task, config: Config, onLine?: Progress): Promise<PreparedImage> {
  const env = task.environment;
  switch (env.kind) {
    case 'dockerfile':
      return buildFromDockerfile(task, env, config, onLine);
    case 'swebench':
      return buildSwebench(task, env, config, onLine);
    case 'image':
      return prebuiltImage(task, env.image, config, 'docker_image');
  }
}

/** A named image: present, else mapped (images.baseImages), else pulled. */
async function prebuiltImage(
  task: Task,
  image: string,
  config: Config,
  where: ImageMapping['where'],
): Promise<PreparedImage> {
  if (await imageExists(image)) return { image, how: 'prebuilt' };
  const mapped = mapBaseImage(image, config.images.baseImages);
  if (mapped && (await imageExists(mapped)))
    return { image: mapped, how: 'prebuilt', rewrites: [{ from: image, to: mapped, where }] };
  try {
    await new Promise<void>((resolve, reject) =>
      docker().pull(image, (err: Error | null, stream: NodeJS.ReadableStream) =>
        err ? reject(err) : docker().modem.followProgress(stream, (e: Error | null) => (e ? reject(e) : resolve())),
      ),
    );
    return { image, how: 'prebuilt' };
  } catch (e) {
    throw new ImageError(
      `${task.source}: image ${image} is not on this machine and could not be pulled (${(e as Error).message}); load it, or map it under images.baseImages in the config`,
    );
  }
}

/**
 * The images of a task's other compose services, by service name: built from their build
 * context (cached by content hash, as the task's own) or named, mapped like the task's.
 * `vars` fills `${VAR}` in image names (Compose interpolates them from its environment).
 */
export async function prepareServiceImages(
  task: Task,
  config: Config,
  vars: Record<string, string | undefined>,
  onLine?: Progress,
): Promise<{ images: Record<string, string>; rewrites: ImageMapping[] }> {
  const images: Record<string, string> = {};
  const rewrites: ImageMapping[] = [];
  const ca = caBundle(config.sandbox.caCertificates);
  for (const svc of task.compose?.services ?? []) {
    const pseudo = { ...task, id: `${task.id}-${svc.name}` };
    let prepared: PreparedImage;
    if (svc.build) prepared = await buildFromDockerfile(pseudo, svc.build, config, onLine);
    else {
      const named = interpolateService(svc, vars).image!;
      prepared = await prebuiltImage(task, named, config, 'compose image');
      if (ca) prepared = { ...prepared, image: await withCa(prepared.image, ca, onLine) };
    }
    images[svc.name] = prepared.image;
    rewrites.push(...(prepared.rewrites ?? []));
  }
  return { images, rewrites };
}
