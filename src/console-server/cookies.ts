import type { FastifyReply, FastifyRequest } from 'fastify';

/**
 * The console's cookies (the session, the binding of an OpenID sign-in): read by name, set HttpOnly
 * (no script of the page reads them) and Secure over HTTPS. Fastify appends each Set-Cookie.
 */

/** The value of the request's cookie `name`, if any. */
export function readCookie(request: FastifyRequest, name: string): string | undefined {
  for (const part of (request.headers.cookie ?? '').split(';')) {
    const [key, ...value] = part.trim().split('=');
    if (key === name && value.length > 0) {
      // A malformed escape (a forged cookie) is no cookie, not a server error on every request.
      try {
        return decodeURIComponent(value.join('='));
      } catch {
        return undefined;
      }
    }
  }
  return undefined;
}

export interface CookieOptions {
  name: string;
  value: string;
  /** 0 deletes the cookie. */
  maxAgeSeconds: number;
  sameSite: 'Strict' | 'Lax';
  path: string;
}

export function setCookie(reply: FastifyReply, request: FastifyRequest, cookie: CookieOptions): void {
  const secure = request.protocol === 'https' ? '; Secure' : '';
  reply.header(
    'set-cookie',
    `${cookie.name}=${encodeURIComponent(cookie.value)}; Path=${cookie.path}; HttpOnly; SameSite=${cookie.sameSite}; Max-Age=${cookie.maxAgeSeconds}${secure}`,
  );
}
