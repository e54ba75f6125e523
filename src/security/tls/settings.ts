import { createPrivateKey, type KeyObject, type X509Certificate } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { ConfigError } from '#config/load';
import { settings, type Config } from '#config/settings';
import { CertificateError, certificatesOfPem, factsOf } from './certificate.ts';

/** The mutual-TLS listener's address and its files, read and checked. */
export interface TlsSettings {
  host: string;
  port: number;
  /** PEM texts, as node:tls takes them. */
  certificatePem: string;
  keyPem: string;
  clientCaPem: string;
  /** The CA certificates client certificates must chain to (an upload is checked against them). */
  clientCas: X509Certificate[];
}

type FileSetting = 'tlsCert' | 'tlsKey' | 'tlsClientCa';

/**
 * The mutual-TLS settings, or undefined when SPX_TLS_PORT is unset. A missing, unreadable or wrong
 * file stops the start with a ConfigError naming its variable (STYLE habit 8): better than a TLS
 * listener failing on the first handshake.
 */
export function readTlsSettings(config: Config): TlsSettings | undefined {
  if (config.tlsPort === undefined) {
    return undefined;
  }
  const missing = (['tlsCert', 'tlsKey', 'tlsClientCa'] as const).filter((name) => !config[name]);
  if (missing.length > 0) {
    const names = missing.map((name) => settings[name].env).join(', ');
    throw new ConfigError(`SPX_TLS_PORT is set, so ${names} must be set too`);
  }
  const certificatePem = readSetting(config, 'tlsCert');
  const keyPem = readSetting(config, 'tlsKey');
  const clientCaPem = readSetting(config, 'tlsClientCa');
  const certificate = serverCertificateOf(config, certificatePem);
  if (!certificate.checkPrivateKey(privateKeyOf(config, keyPem))) {
    throw new ConfigError(
      `SPX_TLS_KEY: the key in ${config.tlsKey} is not the key of the SPX_TLS_CERT certificate`,
    );
  }
  return {
    host: config.tlsHost ?? config.host,
    port: config.tlsPort,
    certificatePem,
    keyPem,
    clientCaPem,
    clientCas: clientCasOf(config, clientCaPem),
  };
}

function readSetting(config: Config, name: FileSetting): string {
  const path = config[name]!;
  try {
    return readFileSync(path, 'utf8');
  } catch (error) {
    throw new ConfigError(
      `${settings[name].env}: cannot read ${path} (${(error as NodeJS.ErrnoException).code})`,
    );
  }
}

/** The first certificate of the file is the server's; the others are its intermediates. */
function serverCertificateOf(config: Config, pem: string): X509Certificate {
  const certificate = certificatesIn(config, 'tlsCert', pem)[0]!;
  const { notAfter } = factsOf(certificate);
  if (notAfter <= new Date()) {
    throw new ConfigError(
      `SPX_TLS_CERT: the certificate in ${config.tlsCert} expired on ${notAfter.toISOString()}`,
    );
  }
  return certificate;
}

function privateKeyOf(config: Config, pem: string): KeyObject {
  try {
    return createPrivateKey(pem);
  } catch {
    throw new ConfigError(`SPX_TLS_KEY: ${config.tlsKey} holds no readable PEM private key`);
  }
}

function clientCasOf(config: Config, pem: string): X509Certificate[] {
  const cas = certificatesIn(config, 'tlsClientCa', pem);
  const notCa = cas.find((certificate) => !certificate.ca);
  if (notCa) {
    throw new ConfigError(
      `SPX_TLS_CLIENT_CA: ${config.tlsClientCa} holds a certificate that is not a CA (${notCa.subject.replace(/\n/g, ', ')})`,
    );
  }
  return cas;
}

function certificatesIn(config: Config, name: FileSetting, pem: string): X509Certificate[] {
  let certificates: X509Certificate[];
  try {
    certificates = certificatesOfPem(pem);
  } catch (error) {
    if (!(error instanceof CertificateError)) {
      throw error;
    }
    throw new ConfigError(`${settings[name].env}: in ${config[name]}, ${error.message}`);
  }
  if (certificates.length === 0) {
    throw new ConfigError(`${settings[name].env}: ${config[name]} holds no PEM certificate`);
  }
  return certificates;
}
