import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { request } from 'node:https';
import { join } from 'node:path';
import type { Config } from '#config/settings';
import { createTestApp, type TestApp } from './app.ts';
import {
  createCertificateAuthority,
  issueServerCertificate,
  loadCertificateAuthority,
  type CertificateAuthority,
  type IssuedCertificate,
} from '#security/tls/issue';

/** A CA and a server certificate for 127.0.0.1, written to `dir`, with the settings that use them. */
export async function createTestPki(dir: string): Promise<{
  ca: CertificateAuthority;
  settings: Pick<Config, 'tlsPort' | 'tlsHost' | 'tlsCert' | 'tlsKey' | 'tlsClientCa'>;
}> {
  const ca = await loadCertificateAuthority(await createCertificateAuthority('Test CA', { days: 2 }));
  const server = await issueServerCertificate(ca, ['127.0.0.1'], { days: 2 });
  const files = {
    tlsCert: join(dir, 'server.crt'),
    tlsKey: join(dir, 'server.key'),
    tlsClientCa: join(dir, 'ca.crt'),
  };
  writeFileSync(files.tlsCert, server.certificatePem);
  writeFileSync(files.tlsKey, server.keyPem, { mode: 0o600 });
  writeFileSync(files.tlsClientCa, ca.certificatePem);
  return { ca, settings: { tlsPort: 0, tlsHost: '127.0.0.1', ...files } };
}

/** A test app with the mutual-TLS listener on a port of 127.0.0.1, its CA, and the listener's URL. */
export interface TlsTestApp {
  t: TestApp;
  ca: CertificateAuthority;
  tlsUrl: string;
  /** Closes the app and removes the certificate files. */
  close(): Promise<void>;
}

export async function createTlsTestApp(overrides: Partial<Config> = {}): Promise<TlsTestApp> {
  const dir = mkdtempSync(join(tmpdir(), 'spx-tls-'));
  const pki = await createTestPki(dir);
  const t = await createTestApp({ ...pki.settings, ...overrides });
  const tlsUrl = await t.app.tlsListener!.listen();
  return {
    t,
    ca: pki.ca,
    tlsUrl,
    close: async () => {
      await t.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/**
 * How a client sees the server refuse its certificate: with TLS 1.3 the handshake completes on the
 * client's side first, so the refusal is an alert or a reset on the first read; never an HTTP answer.
 */
export const HANDSHAKE_REFUSED =
  /alert certificate required|alert unknown ca|alert certificate expired|socket hang up|ECONNRESET/;

export interface HttpsAnswer {
  status: number;
  body: { detail?: string; items?: unknown[] } & Record<string, unknown>;
}

/**
 * One request over a new TLS connection (no agent, so no kept-alive connection or resumed session
 * carries an earlier certificate over), trusting `serverCa`, presenting `certificate` if given.
 * Rejects when the handshake is refused. A `body` is POSTed: a string as it is (with `contentType`),
 * anything else as JSON.
 */
export function httpsCall(
  url: string,
  options: {
    serverCa: string;
    certificate?: IssuedCertificate;
    headers?: Record<string, string>;
    body?: unknown;
    contentType?: string;
  },
): Promise<HttpsAnswer> {
  return new Promise((resolve, reject) => {
    const call = request(
      url,
      {
        agent: false,
        ca: options.serverCa,
        cert: options.certificate?.certificatePem,
        key: options.certificate?.keyPem,
        ...(options.body === undefined
          ? { headers: options.headers }
          : {
              method: 'POST',
              headers: { 'content-type': options.contentType ?? 'application/json', ...options.headers },
            }),
      },
      (response) => {
        const chunks: Buffer[] = [];
        response.on('data', (chunk: Buffer) => chunks.push(chunk));
        response.on('error', reject);
        response.on('end', () =>
          resolve({
            status: response.statusCode!,
            body: JSON.parse(Buffer.concat(chunks).toString('utf8') || '{}') as HttpsAnswer['body'],
          }),
        );
      },
    );
    call.on('error', reject);
    const { body } = options;
    call.end(body === undefined || typeof body === 'string' ? body : JSON.stringify(body));
  });
}
