import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import fastifyStatic from '@fastify/static';
import { unavailable } from '#platform/problem';
import type { App } from '#platform/http/types';

/**
 * The admin console's built assets (`npm run build`, run by `npm install`), served under /console by
 * the gateway itself: hashed assets cached for good, every other path the single page (the console
 * routes in the browser). The page may load nothing but its own assets and call nothing but this
 * gateway (Content-Security-Policy).
 */

export const CONSOLE_DIST = fileURLToPath(new URL('../../console/dist/', import.meta.url));

const CSP = [
  "default-src 'self'",
  "script-src 'self'",
  // Mantine sets CSS variables in style attributes.
  "style-src 'self' 'unsafe-inline'",
  "img-src 'self' data:",
  "connect-src 'self'",
  "frame-ancestors 'none'",
  "base-uri 'self'",
  "form-action 'self'",
].join('; ');

const page = { access: { public: true as const } };

export async function consoleStatic(app: App, { dir = CONSOLE_DIST }: { dir?: string } = {}): Promise<void> {
  const built = existsSync(`${dir}/index.html`);
  if (built) {
    await app.register(fastifyStatic, { root: dir, serve: false });
  }
  app.get('/console', { config: page, schema: { hide: true } }, (_request, reply) =>
    reply.redirect('/console/'),
  );
  app.get('/console/*', { config: page, schema: { hide: true } }, (request, reply) => {
    if (!built) {
      throw unavailable('the console is not built: run `npm run build` (npm install does it)');
    }
    const path = (request.params as { '*': string })['*'];
    if (path.startsWith('assets/')) {
      return reply.header('cache-control', 'public, max-age=31536000, immutable').sendFile(path);
    }
    return reply
      .header('cache-control', 'no-cache')
      .header('content-security-policy', CSP)
      .sendFile('index.html');
  });
}
