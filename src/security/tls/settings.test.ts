import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from '#config/load';
import type { Config } from '#config/settings';
import {
  createCertificateAuthority,
  issueClientCertificate,
  issueServerCertificate,
  loadCertificateAuthority,
} from '#security/tls/issue';
import { readTlsSettings } from '#security/tls/settings';
import { createTestPki } from '#test/tls';

/** A wrong mutual-TLS file stops the start with one line naming its variable. */
describe('mutual-TLS settings', () => {
  const dir = mkdtempSync(join(tmpdir(), 'spx-tls-settings-'));
  let config: Config;

  beforeAll(async () => {
    config = { ...loadConfig({}), ...(await createTestPki(dir)).settings };
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  const file = (name: string, text: string) => {
    const path = join(dir, name);
    writeFileSync(path, text);
    return path;
  };
  const failure = (overrides: Partial<Config>) => {
    try {
      readTlsSettings({ ...config, ...overrides });
    } catch (error) {
      expect(error).toBeInstanceOf(ConfigError);
      return (error as Error).message;
    }
    throw new Error('no ConfigError');
  };

  it('is off without SPX_TLS_PORT, and reads good files when it is set', () => {
    expect(readTlsSettings({ ...config, tlsPort: undefined })).toBeUndefined();
    const settings = readTlsSettings(config)!;
    expect(settings).toMatchObject({ host: '127.0.0.1', port: 0 });
    expect(settings.clientCas.map((ca) => ca.subject)).toEqual(['CN=Test CA']);
    expect(readTlsSettings({ ...config, tlsHost: undefined, host: '0.0.0.0' })!.host).toBe('0.0.0.0');
  });

  it('names the variables missing beside SPX_TLS_PORT', () => {
    expect(failure({ tlsKey: undefined, tlsClientCa: undefined })).toBe(
      'SPX_TLS_PORT is set, so SPX_TLS_KEY, SPX_TLS_CLIENT_CA must be set too',
    );
  });

  it('names an unreadable file, a file without a certificate or key, and a key of another certificate', async () => {
    expect(failure({ tlsCert: join(dir, 'missing.crt') })).toMatch(
      /^SPX_TLS_CERT: cannot read .*missing\.crt \(ENOENT\)$/,
    );
    expect(failure({ tlsCert: file('garbage.crt', 'hello') })).toMatch(
      /^SPX_TLS_CERT: .* holds no PEM certificate$/,
    );
    expect(failure({ tlsKey: file('garbage.key', 'hello') })).toMatch(
      /^SPX_TLS_KEY: .* holds no readable PEM private key$/,
    );
    const ca = await loadCertificateAuthority(await createCertificateAuthority('Another', { days: 1 }));
    const otherServer = await issueServerCertificate(ca, ['127.0.0.1'], { days: 1 });
    expect(failure({ tlsKey: file('other.key', otherServer.keyPem) })).toMatch(
      /^SPX_TLS_KEY: the key in .* is not the key of the SPX_TLS_CERT certificate$/,
    );
  });

  it('refuses an expired server certificate and a client CA file holding no CA', async () => {
    const ca = await loadCertificateAuthority(await createCertificateAuthority('Short-lived', { days: 1 }));
    const old = await issueServerCertificate(ca, ['127.0.0.1'], {
      notBefore: new Date(Date.now() - 3 * 86_400_000),
      notAfter: new Date(Date.now() - 86_400_000),
    });
    expect(
      failure({ tlsCert: file('old.crt', old.certificatePem), tlsKey: file('old.key', old.keyPem) }),
    ).toMatch(/^SPX_TLS_CERT: the certificate in .* expired on /);
    const leaf = await issueClientCertificate(ca, 'not-a-ca', { days: 1 });
    expect(failure({ tlsClientCa: file('leaf.crt', leaf.certificatePem) })).toMatch(
      /^SPX_TLS_CLIENT_CA: .* holds a certificate that is not a CA \(CN=not-a-ca\)$/,
    );
  });
});
