import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import type { FastifyBaseLogger, FastifyInstance } from 'fastify';
import type { AlongsideRow } from '#platform/audit/audit-log';
import type { Principal } from '#platform/auth/principal';
import type { Permission } from '#platform/auth/roles';

/** The Fastify instance type every route plugin receives (TypeBox schemas give request types). */
export type App = FastifyInstance<
  Server,
  IncomingMessage,
  ServerResponse,
  FastifyBaseLogger,
  TypeBoxTypeProvider
>;

/**
 * Every route declares who may call it (STYLE habit 4): `public`, or a permission plus the audit
 * action recorded for each call. Registering a route without it stops the start.
 */
export type RouteAccess =
  | {
      public: true;
      /**
       * The route checks a credential itself (the OAuth token endpoint): an address throttled for
       * failed authentications is refused there too, and the route's refusals (`request.credentialRefused`)
       * count as failed authentications.
       */
      checksCredentials?: true;
    }
  | {
      permission: Permission;
      /** Audit action, e.g. `household.read`; `false` for operational routes that touch no data. */
      audit: { action: string; resourceType?: string } | false;
      /** The registry whose records the route serves, for data sharing agreements (platform/policy). */
      registry?: RegistryName;
      /**
       * The route takes HTTP Basic from any client (the OpenRosa routes: ODK Collect sends nothing
       * else); elsewhere only clients allowed it may use Basic (platform/http/http-basic.ts).
       */
      httpBasic?: true;
    };

/** The registries the gateway serves: the Social Registry and the Integrated Beneficiary Registry. */
export type RegistryName = 'social' | 'ibr';

/** What a handler tells the audit trail about the records it returned or changed. */
export interface AuditNote {
  resourceId?: string;
  recordCount?: number;
  /** Ids of the registry records returned. */
  subjectIds?: readonly string[];
  /** The purpose the message itself states (e.g. DCI consent), when the X-Purpose header is absent. */
  purpose?: string;
  /** The legal basis the request stated (exports). */
  legalBasis?: string;
}

/**
 * The records a request asked for by key (a record id, a typed identifier such as `UIN:123`), for
 * the anomaly guard, which keeps only salted hashes and counts of them, in memory (platform/anomaly).
 */
export interface Lookups {
  keys: readonly string[];
  /** How many of the keys matched a record. */
  found: number;
}

declare module 'fastify' {
  interface FastifyContextConfig {
    access?: RouteAccess;
  }
  interface FastifyRequest {
    principal?: Principal;
    purpose?: string;
    auditNote?: AuditNote;
    /** Set by a public route that refused the credential it was given (see RouteAccess). */
    credentialRefused?: boolean;
    /** Set by handlers that look records up by key (for the anomaly guard). */
    lookups?: Lookups;
    /**
     * Writes the request's audit entry now, as answered with `statusCode` (from `auditNote`), in one
     * statement with `alongside`; rejects, writing neither, when the row is refused. The answer is
     * then not audited again when it leaves with that status (platform/http/access-control.ts).
     */
    recordAnswer(statusCode: number, alongside: AlongsideRow): Promise<void>;
    /** The status an answer was recorded with by recordAnswer. */
    answerRecorded?: number;
  }
}
