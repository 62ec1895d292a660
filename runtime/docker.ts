// The one Dockerode client the process shares, and the error helpers every Docker caller uses.
// Connection settings come from the environment the way the docker CLI reads them: DOCKER_HOST
// (unix://, tcp://, npipe://) with DOCKER_TLS_VERIFY / DOCKER_CERT_PATH, else the default socket.
import Docker from 'dockerode';

let client: Docker | undefined;

/** The shared client, created on first use (so importing this module never touches Docker). */
export function getDocker(): Docker {
  client ??= new Docker();
  return client;
}

/** Where the client connects, for messages. */
export function dockerEndpoint(): string {
  return process.env.DOCKER_HOST || 'unix:///var/run/docker.sock';
}

/** The HTTP status of an engine error (404 no such container, 409 conflict...), if any. */
export function statusOf(err: unknown): number | undefined {
  const code = (err as { statusCode?: unknown } | null)?.statusCode;
  return typeof code === 'number' ? code : undefined;
}

export function isNotFound(err: unknown): boolean {
  return statusOf(err) === 404;
}

const CONNECT_CODES = new Set([
  'ECONNREFUSED',
  'ENOENT',
  'EACCES',
  'EPERM',
  'ECONNRESET',
  'EHOSTUNREACH',
  'ETIMEDOUT',
  'ENOTFOUND',
]);

/** True when the error says the engine could not be reached at all (as opposed to an API error). */
export function isConnectError(err: unknown): boolean {
  if (statusOf(err) !== undefined) return false;
  const e = err as { code?: unknown; syscall?: unknown; address?: unknown } | null;
  return (
    typeof e?.code === 'string' &&
    CONNECT_CODES.has(e.code) &&
    (e.syscall === 'connect' || e.address !== undefined || e.code === 'ECONNREFUSED')
  );
}

/** Raised instead of a bare ECONNREFUSED/ENOENT when the Docker engine does not answer. */
export class DockerUnavailableError extends Error {
  constructor(cause: unknown) {
    const detail = (cause as Error | null)?.message ?? String(cause);
    super(
      `cannot connect to the Docker engine at ${dockerEndpoint()} (${detail}). ` +
        'Is dockerd running, and may this user use its socket? Set DOCKER_HOST to use another engine.',
      { cause },
    );
    this.name = 'DockerUnavailableError';
  }
}

/** Turns a "cannot connect" error into DockerUnavailableError; returns anything else unchanged. */
export function explainDockerError(err: unknown): unknown {
  return isConnectError(err) ? new DockerUnavailableError(err) : err;
}

/** Runs `fn`, rethrowing connection failures as DockerUnavailableError. */
export async function withDocker<T>(fn: (docker: Docker) => Promise<T>): Promise<T> {
  try {
    return await fn(getDocker());
  } catch (err) {
    throw explainDockerError(err);
  }
}

/** Checks that the engine answers; throws DockerUnavailableError if not. */
export async function pingDocker(): Promise<void> {
  await withDocker((d) => d.ping());
}
