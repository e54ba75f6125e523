import { describe, expect, it } from 'vitest';
import { isPrivateAddress, resolveCallbackHost, type Resolve } from './address.ts';
import { callbackTarget, NO_CALLBACKS, type CallbackSettings } from './policy.ts';

const settings: CallbackSettings = {
  callbackOrigins: ['https://spmis.example.org', 'http://127.0.0.1:9000'],
  callbackUri: 'https://spmis.example.org/dci',
  allowPrivateAddresses: false,
};
const fixed =
  (...addresses: string[]): Resolve =>
  async () =>
    addresses.map((address) => ({ address, family: address.includes(':') ? 6 : 4 }));

describe('the callback SSRF guard', () => {
  it.each([
    '127.0.0.1',
    '10.1.2.3',
    '172.20.0.1',
    '192.168.1.1',
    '169.254.169.254',
    '100.64.0.1',
    '0.0.0.0',
    '::1',
    '::',
    'fe80::1',
    'fd00::1',
    '::ffff:127.0.0.1',
    '64:ff9b::a00:1',
    'not-an-address',
  ])('counts %s as not public', (address) => {
    expect(isPrivateAddress(address)).toBe(true);
  });

  it.each(['93.184.216.34', '8.8.8.8', '2606:4700::1111', '::ffff:8.8.8.8'])(
    'counts %s as public',
    (address) => {
      expect(isPrivateAddress(address)).toBe(false);
    },
  );

  it('refuses a host when any of its addresses is private (a resolver could alternate)', async () => {
    const url = new URL('https://spmis.example.org/x');
    await expect(resolveCallbackHost(url, false, fixed('93.184.216.34', '10.0.0.1'))).rejects.toMatchObject({
      code: 'err.sender_uri.invalid',
    });
    expect(await resolveCallbackHost(url, true, fixed('10.0.0.1'))).toEqual({
      address: '10.0.0.1',
      family: 4,
    });
    expect(await resolveCallbackHost(url, false, fixed('93.184.216.34'))).toEqual({
      address: '93.184.216.34',
      family: 4,
    });
  });

  it('treats a name that does not resolve as a failed attempt (retried), not a refusal', async () => {
    const url = new URL('https://spmis.example.org/x');
    const error = await resolveCallbackHost(url, false, fixed()).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(Error);
    expect(error).not.toHaveProperty('code');
  });
});

describe('the callback target', () => {
  it("is the header's sender_uri, or the registered base URI + the callback path", () => {
    expect(
      callbackTarget(settings, 'https://spmis.example.org/cb/on-search', '/registry/on-search').href,
    ).toBe('https://spmis.example.org/cb/on-search');
    expect(callbackTarget(settings, undefined, '/registry/on-search').href).toBe(
      'https://spmis.example.org/dci/registry/on-search',
    );
  });

  it.each([
    ['an unregistered origin', 'https://evil.example.org/on-search', /not registered/],
    ['another port of a registered host', 'https://spmis.example.org:8443/on-search', /not registered/],
    ['credentials in the URL', 'https://u:p@spmis.example.org/on-search', /without credentials/],
    ['a non-http scheme', 'file:///etc/passwd', /http\(s\)/],
    ['a private IP literal', 'http://127.0.0.1:9000/on-search', /private or loopback/],
  ])('refuses %s', (_name, uri, message) => {
    expect(() => callbackTarget(settings, uri, '/registry/on-search')).toThrow(message);
  });

  it('refuses everything for a client without settings', () => {
    expect(() => callbackTarget(NO_CALLBACKS, undefined, '/registry/on-search')).toThrow(/no sender_uri/);
    expect(() => callbackTarget(NO_CALLBACKS, 'https://a.example.org/x', '/x')).toThrow(/not registered/);
  });
});
