import { Type } from '@sinclair/typebox';
import type { FastifyRequest } from 'fastify';
import type { Kysely } from 'kysely';
import type { WebSocket } from 'ws';
import { recordAudit, type AuditOutcome } from '#platform/audit/audit-log';
import type { Principal } from '#platform/auth/principal';
import type { KeyVault } from '#platform/crypto/key-vault';
import type { DB } from '#platform/db/types';
import { TimeSlicer, type Slots } from '#platform/http/long-reads';
import { badRequest, notFound, ProblemError } from '#platform/problem';
import type { App } from '#platform/http/types';
import { principalOf, problems } from '#platform/http/kit';
import { findDefinition, type DefinitionRow } from './definitions.ts';
import { currentPosition, decodePosition, encodePosition, readChanges, type FeedPosition } from './feed.ts';
import { recordObject } from './formats/json.ts';
import { planExport, type ExportPlan } from './plan.ts';
import { pseudonymiserFor } from './pseudonyms.ts';
import { BATCH_SIZE, exportBatches, type ExportRecord, type Pseudonymiser } from './source.ts';
import { LegalBasis, Purpose } from './statement.ts';

/**
 * `GET /api/v1/export-definitions/{name}/feed` as a WebSocket: `{"type":"ready","cursor":"..."}` once
 * its starting position is fixed, then the definition's records as they are created or updated, each
 * as `{"type":"change","record":{...},"cursor":"..."}`; after `ready`, when asked (`snapshot=true`),
 * every current record first (`"type":"snapshot"`, then `"snapshot_end"`). A client
 * that reconnects with the last cursor it received loses no change (it may see a record again: the
 * last copy wins). Under the caller's policy like every export, audited when it opens and closes.
 * Feeds open at once are counted per client and in total (`slots`): one past a limit is refused
 * with an error message (429 or 503) naming it.
 */

export interface FeedRouteOptions {
  db: Kysely<DB>;
  vault: KeyVault;
  pollMs: number;
  /** The feeds open at once. */
  slots: Slots;
}

const FeedQuery = Type.Object(
  {
    legal_basis: LegalBasis,
    purpose: Type.Optional(Purpose),
    cursor: Type.Optional(
      Type.String({ maxLength: 2000, description: 'The last cursor received: resume after it' }),
    ),
    snapshot: Type.Optional(Type.Boolean({ description: 'Send every current record first (default false)' })),
    version: Type.Optional(Type.Integer({ minimum: 1, maximum: 2147483647 })),
  },
  { additionalProperties: false },
);

/** Bytes waiting to be sent above which the feed waits for the client to read. */
const MAX_BUFFERED = 1 << 20;

export function feedRoute(app: App, options: FeedRouteOptions): void {
  // The feeds running, each with its end: a closing gateway stops them and waits for their last
  // audit entry, so that none still writes to a database being closed.
  const open = new Map<Feed, Promise<void>>();
  app.addHook('onClose', async () => {
    for (const feed of open.keys()) {
      feed.stop();
    }
    await Promise.allSettled(open.values());
  });
  app.route({
    method: 'GET',
    url: '/export-definitions/:name/feed',
    config: {
      access: {
        permission: 'registry:read',
        audit: { action: 'export.feed', resourceType: 'export_definition' },
        registry: 'social',
      },
    },
    schema: {
      tags: ['exports'],
      operationId: 'openExportFeed',
      summary: 'Change feed of an export (WebSocket; plain GET answers 426)',
      description:
        'Open with a WebSocket upgrade. Messages: ready (the starting cursor), snapshot / snapshot_end (with snapshot=true), change (each with ' +
        'the cursor to resume after it), caught_up (with the cursor after the last change), error. A household is ' +
        'sent when its row changes; a household_members row when the person or the household changes.',
      params: Type.Object({ name: Type.String({ pattern: '^[a-z0-9][a-z0-9_-]{0,79}$' }) }),
      querystring: FeedQuery,
      response: {
        101: Type.Null({ description: 'Switching Protocols: the feed, as WebSocket messages' }),
        ...problems(400, 404, 426),
      },
    },
    handler: async () => {
      throw new ProblemError(
        426,
        'upgrade-required',
        'Upgrade required',
        'this feed is a WebSocket: open it with an upgrade',
      );
    },
    wsHandler: (socket, request) => {
      const query = request.query as FeedQueryValues;
      const { name } = request.params;
      const feed = new Feed(socket, request, options);
      open.set(
        feed,
        feed.run(name, query).finally(() => open.delete(feed)),
      );
    },
  });
}

interface FeedQueryValues {
  legal_basis: string;
  purpose?: string;
  cursor?: string;
  snapshot?: boolean;
  version?: number;
}

/** One open feed: reads changes while the socket is open, as fast as the client takes them. */
class Feed {
  #closed = false;
  #sent = 0;
  // Each message is a write to the socket: a batch of them is sent a slice at a time.
  readonly #slicer = new TimeSlicer();
  #wake: (() => void) | undefined;
  /** Gives back this feed's place among those open at once (as soon as the socket closes). */
  #release: (() => void) | undefined;

  constructor(
    private readonly socket: WebSocket,
    private readonly request: FastifyRequest,
    private readonly options: FeedRouteOptions,
  ) {
    socket.on('close', () => this.stop());
    // The client only listens; whatever it sends is ignored.
    socket.on('message', () => undefined);
  }

  /** Ends the feed after what it is doing (its socket closed, or the gateway closes). */
  stop(): void {
    this.#closed = true;
    this.#release?.();
    this.#wake?.();
  }

  async run(name: string, query: FeedQueryValues): Promise<void> {
    let audit: ((outcome: AuditOutcome) => Promise<void>) | undefined;
    try {
      this.#release = this.options.slots.take(principalOf(this.request).clientId);
      const { definition, plan, pseudonym, purpose } = await this.#open(name, query);
      audit = (outcome) => this.#audit(definition, purpose, query.legal_basis, outcome, 'export.feed.done');
      await this.#audit(definition, purpose, query.legal_basis, 'success', 'export.feed');
      let position = query.cursor ? decodePosition(query.cursor) : await currentPosition(this.options.db);
      // From here on every change is sent: a client that changes data and waits for it, waits for this.
      this.#send({ type: 'ready', cursor: encodePosition(position) });
      if (query.snapshot && !query.cursor) {
        await this.#snapshot(plan, pseudonym);
        this.#send({ type: 'snapshot_end', cursor: encodePosition(position) });
      }
      while (!this.#closed) {
        position = await this.#follow(plan, pseudonym, position);
      }
      await audit('success');
    } catch (error) {
      this.#fail(error);
      await audit?.('error').catch(() => undefined);
    } finally {
      this.#release?.();
    }
  }

  async #open(name: string, query: FeedQueryValues) {
    const purpose = query.purpose ?? this.request.purpose;
    if (!purpose) {
      throw badRequest('an export states its purpose: the X-Purpose header or the purpose parameter');
    }
    const definition = await findDefinition(this.options.db, name, query.version);
    if (!definition) {
      throw notFound('export definition');
    }
    const principal: Principal = principalOf(this.request);
    const plan = planExport(definition, principal);
    const pseudonym = definition.pseudonymise
      ? await pseudonymiserFor(this.options.db, this.options.vault, principal.clientId)
      : undefined;
    return { definition, plan, pseudonym, purpose };
  }

  async #snapshot(plan: ExportPlan, pseudonym: Pseudonymiser | undefined): Promise<void> {
    for await (const batch of exportBatches(this.options.db, plan, pseudonym)) {
      for (const record of batch) {
        this.#sendRecord('snapshot', plan, record);
        await this.#slicer.pause();
      }
      await this.#drained();
      if (this.#closed) {
        return;
      }
    }
  }

  /** Sends one page of changes; waits for more when caught up. Answers the next position. */
  async #follow(
    plan: ExportPlan,
    pseudonym: Pseudonymiser | undefined,
    position: FeedPosition,
  ): Promise<FeedPosition> {
    const page = await readChanges(this.options.db, plan, position, pseudonym, BATCH_SIZE);
    for (const change of page.changes) {
      this.#sendRecord('change', plan, change.record, encodePosition(change.position));
      await this.#slicer.pause();
    }
    if (page.caughtUp && page.changes.length > 0) {
      this.#send({ type: 'caught_up', cursor: encodePosition(page.next) });
    }
    await this.#drained();
    if (page.caughtUp) {
      await this.#sleep(this.options.pollMs);
    }
    return page.next;
  }

  #sendRecord(type: 'snapshot' | 'change', plan: ExportPlan, record: ExportRecord, cursor?: string): void {
    this.#sent += 1;
    this.#send({
      type,
      record: recordObject(plan.columns, plan.memberColumns, record),
      ...(cursor ? { cursor } : {}),
    });
  }

  #send(message: Record<string, unknown>): void {
    if (!this.#closed) {
      this.socket.send(JSON.stringify(message));
    }
  }

  /** Waits while the client has not read what was sent (back-pressure). */
  async #drained(): Promise<void> {
    while (!this.#closed && this.socket.bufferedAmount > MAX_BUFFERED) {
      await this.#sleep(50);
    }
  }

  #sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const timer = setTimeout(resolve, ms);
      this.#wake = () => {
        clearTimeout(timer);
        resolve();
      };
    });
  }

  /**
   * Tells the client why the feed stops, then closes (RFC 6455 §7.4.1: 1008 refused, 1013 try
   * again later, 1011 our failure).
   */
  #fail(error: unknown): void {
    if (!(error instanceof ProblemError) || (error.status >= 500 && error.status !== 503)) {
      this.request.log.error({ error: String(error) }, 'export feed failed');
      this.#send({ type: 'error', status: 500, detail: 'the feed failed; reconnect with your last cursor' });
      this.socket.close(1011, 'failed');
      return;
    }
    this.#send({ type: 'error', status: error.status, detail: error.detail ?? error.title });
    this.socket.close(
      error.status === 503 ? 1013 : 1008,
      error.status === 503 ? 'try again later' : 'refused',
    );
  }

  #audit(
    definition: DefinitionRow,
    purpose: string,
    legalBasis: string,
    outcome: AuditOutcome,
    action: string,
  ) {
    const principal = principalOf(this.request);
    return recordAudit(this.options.db, {
      requestId: this.request.id,
      clientId: principal.clientId,
      clientName: principal.clientName,
      action,
      purpose,
      legalBasis,
      resourceType: 'export_definition',
      resourceId: `${definition.name}@${definition.version}`,
      recordCount: action === 'export.feed' ? 0 : this.#sent,
      outcome,
    });
  }
}
