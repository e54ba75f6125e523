import { createHash, generateKeyPairSync, randomBytes, timingSafeEqual } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { exportJWK, SignJWT, type JWK, type JWTPayload } from 'jose';

/**
 * A small OpenID provider on 127.0.0.1 speaking the real protocol over HTTP (OpenID Connect Core
 * §3.1, PKCE S256): discovery, an authorization endpoint that signs in at once whoever the test
 * names (`test_subject`) and redirects back with a code, a token endpoint that checks the code's
 * verifier and the client's authentication, and its JWKS. ID tokens are signed with jose.
 */

export interface FakeOpenIdProvider {
  issuer: string;
  clientId: string;
  /** Set: a confidential client that must authenticate by HTTP Basic; unset: a public client. */
  clientSecret: string | undefined;
  /** Who signs in at the provider when the authorization request names nobody (`test_subject`). */
  subject: string;
  /** The next ID token (one use): claims to override, or signed by a key it does not publish. */
  next: { claims?: JWTPayload; foreignKey?: boolean };
  /** Token requests refused, with why (bad verifier, bad client authentication...). */
  refusals: string[];
  close(): Promise<void>;
}

interface IssuedCode {
  subject: string;
  clientId: string;
  redirectUri: string;
  challenge: string;
  nonce: string;
}

export async function startOpenIdProvider(
  options: { clientId?: string; clientSecret?: string; host?: string } = {},
): Promise<FakeOpenIdProvider> {
  const keyPair = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  const foreign = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  const kid = `ec-${randomBytes(4).toString('hex')}`;
  const jwk: JWK = { ...(await exportJWK(keyPair.publicKey)), kid, alg: 'ES256', use: 'sig' };
  const codes = new Map<string, IssuedCode>();
  const state: FakeOpenIdProvider = {
    issuer: '',
    clientId: options.clientId ?? `console-${randomBytes(4).toString('hex')}`,
    clientSecret: options.clientSecret,
    subject: 'nobody',
    next: {},
    refusals: [],
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };

  const routes: Record<
    string,
    (req: IncomingMessage, res: ServerResponse, url: URL) => Promise<void> | void
  > = {
    'GET /.well-known/openid-configuration': (_req, res) =>
      json(res, 200, {
        issuer: state.issuer,
        authorization_endpoint: `${state.issuer}/authorize`,
        token_endpoint: `${state.issuer}/token`,
        jwks_uri: `${state.issuer}/jwks`,
        response_types_supported: ['code'],
        code_challenge_methods_supported: ['S256'],
      }),
    'GET /jwks': (_req, res) => json(res, 200, { keys: [jwk] }),
    'GET /authorize': (_req, res, url) => authorize(url, res),
    'POST /token': async (req, res) => token(new URLSearchParams(await bodyOf(req)), req, res),
  };

  function authorize(url: URL, res: ServerResponse) {
    const q = Object.fromEntries(url.searchParams);
    const back = new URL(q['redirect_uri'] ?? '');
    back.searchParams.set('state', q['state'] ?? '');
    if (q['test_error']) {
      back.searchParams.set('error', q['test_error']);
      back.searchParams.set('error_description', '<script>alert(1)</script>');
    } else if (
      q['response_type'] !== 'code' ||
      q['code_challenge_method'] !== 'S256' ||
      q['scope'] !== 'openid'
    ) {
      back.searchParams.set('error', 'invalid_request');
    } else {
      const code = randomBytes(16).toString('hex');
      codes.set(code, {
        subject: q['test_subject'] ?? state.subject,
        clientId: q['client_id'] ?? '',
        redirectUri: q['redirect_uri'] ?? '',
        challenge: q['code_challenge'] ?? '',
        nonce: q['nonce'] ?? '',
      });
      back.searchParams.set('code', code);
      back.searchParams.set('iss', state.issuer);
    }
    res.writeHead(302, { location: back.toString() }).end();
  }

  async function token(form: URLSearchParams, req: IncomingMessage, res: ServerResponse) {
    const issued = codes.get(form.get('code') ?? '');
    codes.delete(form.get('code') ?? '');
    const refusal = !issued
      ? 'unknown or used code'
      : form.get('grant_type') !== 'authorization_code' || form.get('redirect_uri') !== issued.redirectUri
        ? 'wrong grant type or redirect_uri'
        : createHash('sha256')
              .update(form.get('code_verifier') ?? '')
              .digest('base64url') !== issued.challenge
          ? 'wrong code_verifier'
          : clientProblem(form, req, issued.clientId);
    if (refusal || !issued) {
      state.refusals.push(refusal ?? 'no code');
      return json(res, 400, { error: 'invalid_grant' });
    }
    const next = state.next;
    state.next = {};
    const now = Math.floor(Date.now() / 1000);
    const claims = {
      iss: state.issuer,
      sub: issued.subject,
      aud: state.clientId,
      nonce: issued.nonce,
      iat: now,
      exp: now + 300,
    };
    const idToken = await new SignJWT({ ...claims, ...next.claims })
      .setProtectedHeader({ alg: 'ES256', kid })
      .sign(next.foreignKey ? foreign.privateKey : keyPair.privateKey);
    json(res, 200, {
      access_token: randomBytes(16).toString('hex'),
      token_type: 'Bearer',
      expires_in: 300,
      id_token: idToken,
    });
  }

  /** client_secret_basic for a confidential client; a public client names itself and has no secret. */
  function clientProblem(
    form: URLSearchParams,
    req: IncomingMessage,
    codeClientId: string,
  ): string | undefined {
    if (codeClientId !== state.clientId) {
      return 'the code was issued to another client';
    }
    const header = req.headers.authorization ?? '';
    if (state.clientSecret === undefined) {
      return form.get('client_id') === state.clientId && header === '' ? undefined : 'public client misnamed';
    }
    const expected = `Basic ${Buffer.from(`${state.clientId}:${state.clientSecret}`).toString('base64')}`;
    const same =
      header.length === expected.length && timingSafeEqual(Buffer.from(header), Buffer.from(expected));
    return same ? undefined : 'bad client authentication';
  }

  const server = createServer((req, res) => {
    const url = new URL(req.url ?? '/', state.issuer);
    const route = routes[`${req.method} ${url.pathname}`];
    if (!route) {
      return json(res, 404, { error: 'not_found' });
    }
    Promise.resolve(route(req, res, url)).catch((error: unknown) => json(res, 500, { error: String(error) }));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  state.issuer = `http://${options.host ?? '127.0.0.1'}:${port}`;
  return state;
}

function json(res: ServerResponse, status: number, body: unknown) {
  res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(body));
}

async function bodyOf(req: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) {
    chunks.push(chunk as Buffer);
  }
  return Buffer.concat(chunks).toString('utf8');
}
