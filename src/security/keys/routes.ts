import { Type, type Static } from '@sinclair/typebox';
import type { App } from '#platform/http/types';
import { accessTo, problems, StringEnum } from '#platform/http/kit';
import type { OwnKeyInfo, OwnKeys } from '#platform/crypto/own-keys';

/**
 * Admin routes of our own keys (mounted under /api/v1, permission clients:manage, audited, RFC 9457
 * problems): `GET /gateway-keys` lists every key of every purpose (never a private part), `POST
 * /gateway-keys/{purpose}/rotate` makes a new current key and retires the old one, which keeps
 * verifying (signing keys: and stays published) or decrypting until the grace period ends.
 */

export interface GatewayKeyRouteOptions {
  /** The stores of our keys, one per purpose. */
  keys: readonly OwnKeys[];
  /** Default grace period of a retired key (SPX_KEY_GRACE_HOURS). */
  graceHours: number;
}

const GatewayKey = Type.Object({
  kid: Type.String({
    description: 'The key id (RFC 7638 thumbprint) as published in /.well-known/jwks.json',
  }),
  purpose: Type.String(),
  use: StringEnum(['sig', 'enc']),
  algorithm: Type.String(),
  status: StringEnum(['current', 'retiring', 'expired'], {
    description: 'current: signs or is encrypted to; retiring: still verifies or decrypts until expires_at',
  }),
  created_at: Type.String({ format: 'date-time' }),
  retired_at: Type.Union([Type.String({ format: 'date-time' }), Type.Null()]),
  expires_at: Type.Union([Type.String({ format: 'date-time' }), Type.Null()]),
});

const RotateInput = Type.Object(
  {
    grace_hours: Type.Optional(
      Type.Number({
        minimum: 0,
        maximum: 8760,
        description:
          'How long the old key still verifies or decrypts (default SPX_KEY_GRACE_HOURS); 0 ends it at once, for a key that leaked',
      }),
    ),
  },
  { additionalProperties: false },
);

const manage = accessTo('clients:manage', 'gateway_key');

const keyJson = (key: OwnKeyInfo): Static<typeof GatewayKey> => ({
  kid: key.id,
  purpose: key.purpose,
  use: key.use,
  algorithm: key.algorithm,
  status: key.status,
  created_at: key.createdAt.toISOString(),
  retired_at: key.retiredAt?.toISOString() ?? null,
  expires_at: key.expiresAt?.toISOString() ?? null,
});

export async function gatewayKeyRoutes(
  app: App,
  { keys, graceHours }: GatewayKeyRouteOptions,
): Promise<void> {
  const byPurpose = new Map(keys.map((store) => [store.kind.purpose, store]));

  app.get(
    '/gateway-keys',
    {
      config: manage('gateway_key.list'),
      schema: {
        tags: ['security'],
        operationId: 'listGatewayKeys',
        summary: 'Our own keys (DCI signing and encryption, access token signing), with their status',
        response: { 200: Type.Object({ items: Type.Array(GatewayKey) }) },
      },
    },
    async (request) => {
      const items = (await Promise.all(keys.map((store) => store.list()))).flat();
      request.auditNote = { recordCount: items.length };
      return { items: items.map(keyJson) };
    },
  );

  app.post(
    '/gateway-keys/:purpose/rotate',
    {
      config: manage('gateway_key.rotate'),
      schema: {
        tags: ['security'],
        operationId: 'rotateGatewayKey',
        summary: 'Rotate one of our keys: a new current key; the old one retires after a grace period',
        params: Type.Object({ purpose: StringEnum([...byPurpose.keys()]) }),
        body: RotateInput,
        response: {
          200: Type.Object({ current: GatewayKey, retired: Type.Union([GatewayKey, Type.Null()]) }),
          ...problems(400, 409),
        },
      },
    },
    async (request) => {
      const store = byPurpose.get(request.params.purpose)!;
      const hours = request.body.grace_hours ?? graceHours;
      const { current, retired } = await store.rotate(Math.round(hours * 3600));
      request.auditNote = { resourceId: current.id, recordCount: 1 };
      return { current: keyJson(current), retired: retired ? keyJson(retired) : null };
    },
  );
}
