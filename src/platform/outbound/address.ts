import { lookup as dnsLookup } from 'node:dns/promises';
import { BlockList, isIP } from 'node:net';

/**
 * The SSRF guard's view of addresses, for every request the gateway makes to a URL someone else
 * registered (DCI callbacks, clients' and identity providers' JWKS, the console's OpenID provider,
 * ODK Central sources): the host must resolve to public addresses only, unless that peer is allowed
 * private ones (a test bench, a ministry network). The address checked is the address connected to
 * (request.ts pins it), so a DNS answer cannot change in between.
 */

/** Resolves a host name to its addresses (node:dns by default; tests may pin answers). */
export type Resolve = (host: string) => Promise<{ address: string; family: number }[]>;

export const systemResolve: Resolve = (host) => dnsLookup(host, { all: true, verbatim: true });

// Not public: RFC 6890 special-purpose blocks (this host, private, shared, loopback, link-local,
// benchmarking, documentation, multicast, reserved) and their IPv6 counterparts.
const NOT_PUBLIC = new BlockList();
for (const [network, prefix] of [
  ['0.0.0.0', 8],
  ['10.0.0.0', 8],
  ['100.64.0.0', 10],
  ['127.0.0.0', 8],
  ['169.254.0.0', 16],
  ['172.16.0.0', 12],
  ['192.0.0.0', 24],
  ['192.0.2.0', 24],
  ['192.168.0.0', 16],
  ['198.18.0.0', 15],
  ['198.51.100.0', 24],
  ['203.0.113.0', 24],
  ['224.0.0.0', 3],
] as const) {
  NOT_PUBLIC.addSubnet(network, prefix, 'ipv4');
}
for (const [network, prefix] of [
  // ::, ::1 and the deprecated IPv4-compatible addresses (RFC 4291 §2.5.5.1): ::7f00:1 is
  // [::127.0.0.1]. IPv4-mapped addresses (::ffff:0:0/96) are read as the IPv4 address they carry.
  ['::', 96],
  ['::ffff:0:0:0', 96], // IPv4-translated (RFC 2765 §2.1): [::ffff:0:7f00:1] carries 127.0.0.1
  ['64:ff9b::', 96], // NAT64: reaches IPv4 addresses through a translator
  ['64:ff9b:1::', 48], // local-use NAT64 (RFC 8215)
  ['100::', 64],
  ['2001:db8::', 32],
  ['fc00::', 7],
  ['fe80::', 10],
  ['ff00::', 8],
] as const) {
  NOT_PUBLIC.addSubnet(network, prefix, 'ipv6');
}

/** True for an address that is not a public unicast address (IPv4-mapped IPv6 is read as IPv4). */
export function isPrivateAddress(address: string): boolean {
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(address);
  if (mapped) {
    return NOT_PUBLIC.check(mapped[1]!, 'ipv4');
  }
  const family = isIP(address);
  if (family === 0) {
    return true; // not an address at all: refuse
  }
  return NOT_PUBLIC.check(address, family === 4 ? 'ipv4' : 'ipv6');
}

/** A host name as URL gives it, without the brackets of an IPv6 literal. */
export const bareHost = (url: URL) => url.hostname.replace(/^\[(.*)\]$/, '$1');

/** An http(s) URL without credentials, or undefined. */
export function parseHttpUrl(text: string): URL | undefined {
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    return undefined;
  }
  const web = url.protocol === 'https:' || url.protocol === 'http:';
  return web && url.username === '' && url.password === '' ? url : undefined;
}

/** The guard refused the host: retrying will not help (unlike a DNS or network failure). */
export class AddressRefusedError extends Error {
  override name = 'AddressRefusedError';
}

/**
 * The address to connect to for a URL: the first address the host resolves to, after checking
 * every answer (one private answer refuses the host: a resolver could alternate). A private answer
 * throws AddressRefusedError; a name that does not resolve a plain Error.
 */
export async function resolveGuardedHost(
  url: URL,
  allowPrivate: boolean,
  resolve: Resolve,
): Promise<{ address: string; family: number }> {
  const host = bareHost(url);
  const family = isIP(host);
  const answers = family === 0 ? await resolveOrFail(host, resolve) : [{ address: host, family }];
  if (!allowPrivate && answers.some((a) => isPrivateAddress(a.address))) {
    throw new AddressRefusedError(`the host ${url.host} resolves to a private or loopback address`);
  }
  return answers[0]!;
}

// A name that does not resolve now may resolve later (DNS outage): a failed attempt, retried, not a refusal.
async function resolveOrFail(host: string, resolve: Resolve) {
  const answers = await resolve(host).catch(() => []);
  if (answers.length === 0) {
    throw new Error(`the host ${host} does not resolve`);
  }
  return answers;
}
