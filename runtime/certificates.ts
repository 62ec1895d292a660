// Extra CA certificates (config `sandbox.caCertificates`) trusted in every image the project
// builds and every container it starts: on hosts whose egress passes a TLS-inspecting proxy,
// HTTPS from inside a task container fails unless the proxy's CA is trusted there. The task's
// files are never changed: the certificates travel as extra build-context files under
// CA_ROOT_DIR and are copied to / by a line inserted after each FROM of the generated Dockerfile.
import { createHash } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';

/** Where the host keeps its bundle, by distribution (Debian/Ubuntu, Fedora/RHEL, Alpine/macOS). */
const HOST_BUNDLES = ['/etc/ssl/certs/ca-certificates.crt', '/etc/pki/tls/certs/ca-bundle.crt', '/etc/ssl/cert.pem'];

/** The combined bundle in images, and the variables that point the usual clients at it. */
export const CA_BUNDLE_PATH = '/usr/local/share/agentscale-ca/ca-bundle.crt';
export const CA_ENV: Record<string, string> = {
  SSL_CERT_FILE: CA_BUNDLE_PATH, // OpenSSL, Python's ssl, uv, Go
  REQUESTS_CA_BUNDLE: CA_BUNDLE_PATH, // requests (and pip's vendored copy)
  PIP_CERT: CA_BUNDLE_PATH, // pip
  CURL_CA_BUNDLE: CA_BUNDLE_PATH, // curl
  GIT_SSL_CAINFO: CA_BUNDLE_PATH, // git over HTTPS
  NODE_EXTRA_CA_CERTS: CA_BUNDLE_PATH, // Node adds these to its own roots
  UV_NATIVE_TLS: '1', // uv: the platform's store (it honours SSL_CERT_FILE) instead of its bundled roots
};

/** The build-context folder holding the files copied over / in the image. */
export const CA_ROOT_DIR = '.agentscale-ca-root';

export interface CaBundle {
  /** The host's bundle (public roots) followed by the extra certificates. */
  bundle: string;
  /** The extra certificates alone, one PEM each, for update-ca-certificates. */
  extra: string[];
  hash: string;
}

const PEM = /-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g;

/**
 * Reads the configured certificates: each entry a PEM file, or `host` for the host's bundle.
 * The image bundle always starts from the host's public roots (when the host has a bundle), so
 * pointing SSL_CERT_FILE at it never drops the usual CAs. Undefined when nothing is configured.
 */
export function caBundle(entries: string[]): CaBundle | undefined {
  if (entries.length === 0) return undefined;
  const hostFile = HOST_BUNDLES.find((f) => existsSync(f));
  const extra: string[] = [];
  for (const entry of entries) {
    const file = entry === 'host' ? hostFile : entry;
    if (!file) throw new Error('sandbox.caCertificates: "host" given, but this host has no CA bundle in a known place');
    if (!existsSync(file)) throw new Error(`sandbox.caCertificates: no such file: ${file}`);
    const pems = readFileSync(file, 'utf8').match(PEM) ?? [];
    if (pems.length === 0) throw new Error(`sandbox.caCertificates: ${file} holds no PEM certificate`);
    if (entry !== 'host') extra.push(...pems);
  }
  const host = hostFile ? (readFileSync(hostFile, 'utf8').match(PEM) ?? []) : [];
  const bundle = `${[...host, ...extra].join('\n')}\n`;
  return { bundle, extra, hash: createHash('sha256').update(bundle).digest('hex') };
}

/** The files laid over / in an image (paths relative to /). */
export function caFiles(ca: CaBundle): { path: string; content: string }[] {
  return [
    { path: CA_BUNDLE_PATH.slice(1), content: ca.bundle },
    // Picked up whenever the image (re)generates its system bundle (update-ca-certificates, or
    // the ca-certificates package installed later by the task).
    ...ca.extra.map((pem, i) => ({
      path: `usr/local/share/ca-certificates/agentscale-extra-${i + 1}.crt`,
      content: `${pem}\n`,
    })),
    // apt's HTTPS sources.
    {
      path: 'etc/apt/apt.conf.d/99agentscale-ca',
      content: `Acquire::https::CaInfo "${CA_BUNDLE_PATH}";\n`,
    },
  ];
}

const caLines = () => [
  `COPY ${CA_ROOT_DIR}/ /`,
  `ENV ${Object.entries(CA_ENV)
    .map(([k, v]) => `${k}=${v}`)
    .join(' ')}`,
];

const FROM_LINE = /^\s*FROM\s/i;

/**
 * The Dockerfile with the CA files and variables after every FROM (each stage trusts them for
 * its own RUN steps), and the system bundle regenerated at the end where the image can.
 */
export function injectCaLayer(dockerfile: string): string {
  const out: string[] = [];
  const lines = dockerfile.split('\n');
  for (let i = 0; i < lines.length; i++) {
    out.push(lines[i]!);
    // A FROM continued on the next line ends where the backslashes stop.
    if (FROM_LINE.test(lines[i]!)) {
      while (lines[i]!.trimEnd().endsWith('\\') && i + 1 < lines.length) out.push(lines[++i]!);
      out.push(...caLines());
    }
  }
  return `${out.join('\n')}\n${UPDATE_CA}\n`;
}

/** Runs as whatever user the image has; a non-root user just cannot regenerate it (harmless). */
const UPDATE_CA =
  'RUN if command -v update-ca-certificates >/dev/null 2>&1; then update-ca-certificates >/dev/null 2>&1 || true; fi';

/** A thin image over a prebuilt one (docker_image, SWE-bench images) with the same trust. */
export function wrapWithCa(image: string, user: string): string {
  return [
    `FROM ${image}`,
    ...(user ? ['USER root'] : []),
    ...caLines(),
    UPDATE_CA,
    ...(user ? [`USER ${user}`] : []),
    '',
  ].join('\n');
}
