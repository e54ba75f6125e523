import { describe, expect, it } from 'vitest';
import { endpointsOf, issuerUrl, jwksUriProblem } from './urls.ts';

describe('our issuer URL', () => {
  const config = { host: '127.0.0.1', port: 0 };

  it('is SPX_PUBLIC_URL without a trailing slash when set', () => {
    expect(issuerUrl({ ...config, publicUrl: 'https://spx.gov.example/' }, () => [])).toBe(
      'https://spx.gov.example',
    );
  });

  it('is the address listened on otherwise (port 0 gives the real port), IPv6 in brackets', () => {
    expect(issuerUrl(config, () => [{ address: '127.0.0.1', port: 41234 }])).toBe('http://127.0.0.1:41234');
    expect(issuerUrl(config, () => ['/tmp/spx.sock', { address: '::1', port: 8080 }])).toBe(
      'http://[::1]:8080',
    );
    expect(issuerUrl({ host: '0.0.0.0', port: 8080 }, () => [])).toBe('http://0.0.0.0:8080');
  });

  it('names the token endpoint and JWKS under it; the audience defaults to it', () => {
    expect(endpointsOf('https://spx.test', undefined)).toEqual({
      issuer: 'https://spx.test',
      audience: 'https://spx.test',
      tokenEndpoint: 'https://spx.test/oauth/token',
      jwksUri: 'https://spx.test/.well-known/jwks.json',
    });
    expect(endpointsOf('https://spx.test', 'spx-api').audience).toBe('spx-api');
  });
});

describe('a JWKS URL registered by a peer', () => {
  it.each([
    ['https://idp.example/certs', false, undefined],
    ['http://idp.example/certs', false, 'must be https (http only with allow_private_addresses)'],
    ['http://127.0.0.1:8080/certs', true, undefined],
    ['https://user:pw@idp.example/certs', true, 'must be an http(s) URL without credentials or fragment'],
    ['https://idp.example/certs#x', false, 'must be an http(s) URL without credentials or fragment'],
    ['ftp://idp.example/certs', true, 'must be an http(s) URL without credentials or fragment'],
  ])('%s (private allowed: %s)', (url, allowPrivate, problem) => {
    expect(jwksUriProblem(url, allowPrivate)).toBe(problem);
  });
});
