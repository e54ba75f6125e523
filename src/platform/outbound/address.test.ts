import { hostname } from 'node:os';
import { describe, expect, it } from 'vitest';
import { AddressRefusedError, resolveGuardedHost, systemResolve } from './address.ts';

/**
 * The SSRF guard against every way of writing "this machine" that reached a loopback service through
 * an ODK Central source (defects issue, item 12), read as the URL parser reads them.
 */
describe('the SSRF guard', () => {
  it.each([
    'http://127.0.0.1/',
    'http://localhost/',
    `http://${hostname()}/`,
    'http://[::1]/',
    'http://2130706433/',
    'http://0177.0.0.1/',
    'http://0x7f.1/',
    'http://[::ffff:127.0.0.1]/',
    'http://0.0.0.0/',
    'http://[::127.0.0.1]/',
    'http://[::ffff:0:7f00:1]/',
    'http://[::]/',
  ])('refuses %s, unless private addresses are allowed', async (text) => {
    const url = new URL(text);
    await expect(resolveGuardedHost(url, false, systemResolve)).rejects.toBeInstanceOf(AddressRefusedError);
    await expect(resolveGuardedHost(url, true, systemResolve)).resolves.toHaveProperty('address');
  });
});
