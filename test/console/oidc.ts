import { randomBytes } from 'node:crypto';
import type { AddressInfo } from 'node:net';
import { expect } from 'vitest';
import type { Role } from '#platform/auth/roles';
import { createTestApp, type TestApp } from '#test/app';
import { asAdmin, registerClient } from '#test/clients';
import { startOpenIdProvider, type FakeOpenIdProvider } from '#test/oidc-provider';

/**
 * A gateway listening on 127.0.0.1 whose console signs in through a fake OpenID provider (registered
 * as an identity provider through the admin API), and people linked to clients there.
 */
export interface OidcWorld {
  t: TestApp;
  idp: FakeOpenIdProvider;
  providerId: string;
  providerName: string;
  /** The gateway's URL, as the browser reaches it. */
  origin: string;
  /** A new client of this role linked to a new subject at the provider. */
  person(
    role?: Role,
  ): Promise<{ clientId: string; clientName: string; subject: string; credentialId: string }>;
  close(): Promise<void>;
}

export async function createOidcWorld(
  options: { clientSecret?: string; gatewayHost?: string } = {},
): Promise<OidcWorld> {
  const idp = await startOpenIdProvider(
    options.clientSecret === undefined ? {} : { clientSecret: options.clientSecret },
  );
  const providerName = `Ministry IdP ${randomBytes(3).toString('hex')}`;
  const t = await createTestApp({
    consoleOidcProvider: providerName,
    consoleOidcClientId: idp.clientId,
    ...(options.clientSecret === undefined ? {} : { consoleOidcClientSecret: options.clientSecret }),
  });
  const registered = await asAdmin(t, 'POST', '/api/v1/identity-providers', {
    name: providerName,
    issuer: idp.issuer,
    jwks_uri: `${idp.issuer}/jwks`,
    audience: 'spx-gateway',
    allow_private_addresses: true,
  });
  expect(registered.statusCode, registered.body).toBe(201);
  await t.app.listen({ port: 0, host: '127.0.0.1' });
  const port = (t.app.server.address() as AddressInfo).port;
  return {
    t,
    idp,
    providerId: registered.json<{ id: string }>().id,
    providerName,
    origin: `http://${options.gatewayHost ?? '127.0.0.1'}:${port}`,
    async person(role = 'admin') {
      const client = await registerClient(t, role);
      const subject = `person-${randomBytes(4).toString('hex')}`;
      const link = await asAdmin(t, 'POST', `/api/v1/clients/${client.id}/oauth/identities`, {
        provider_id: registered.json<{ id: string }>().id,
        external_id: subject,
      });
      expect(link.statusCode, link.body).toBe(201);
      return {
        clientId: client.id,
        clientName: client.name,
        subject,
        credentialId: link.json<{ id: string }>().id,
      };
    },
    close: async () => {
      await t.close();
      await idp.close();
    },
  };
}
