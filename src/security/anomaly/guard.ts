import type { FastifyReply, FastifyRequest } from 'fastify';
import type { Kysely } from 'kysely';
import { presentedToken } from '#platform/auth/authenticate';
import { parseApiKey } from '#platform/auth/api-keys';
import type { DB } from '#platform/db/types';
import { tooManyRequests } from '#platform/problem';
import type { App } from '#platform/http/types';
import { runPeriodically, type Periodic } from '#platform/jobs/periodic';
import { HOUR_MS, hourOf } from './baseline.ts';
import { AnomalyDetector, type Finding } from './detector.ts';
import { ruleDefinitions, type Action, type Thresholds } from './rules.ts';
import * as queries from './state/queries.ts';
import { Throttles } from './throttles.ts';

export interface AnomalyGuardOptions {
  db: Kysely<DB>;
  thresholds: Thresholds;
  /** false: nothing is observed or refused (the alerts API still answers). */
  enabled: boolean;
  /** The clock (tests move it instead of sleeping). */
  now?: () => number;
  /** How often counts are written and throttles read back, in ms. */
  persistIntervalMs?: number;
}

/**
 * The anomaly guard (issue 5, docs/security/anomaly-guard.md): watches every authenticated call and
 * every failed authentication, keeps per-client baselines, and throttles or suspends clients (and
 * throttles addresses) whose traffic trips a rule, recording an alert each time. The detector
 * judges in memory; this module refuses throttled callers, acts on findings and persists.
 */
export class AnomalyGuard {
  readonly detector: AnomalyDetector;
  readonly throttles = new Throttles();
  readonly now: () => number;
  readonly #db: Kysely<DB>;
  readonly #enabled: boolean;
  readonly #intervalMs: number;
  #loadedHour: number | undefined;

  constructor(options: AnomalyGuardOptions) {
    this.detector = new AnomalyDetector(options.thresholds);
    this.now = options.now ?? Date.now;
    this.#db = options.db;
    this.#enabled = options.enabled;
    this.#intervalMs = options.persistIntervalMs ?? 60_000;
  }

  get thresholds(): Thresholds {
    return this.detector.thresholds;
  }

  /**
   * Before authentication (access control calls it): refuses a throttled address before any
   * credential is looked at, so a caller guessing keys learns nothing more, not even from a good one.
   */
  readonly screen = (request: FastifyRequest): void => {
    if (!this.#enabled) {
      return;
    }
    const remaining = this.throttles.remaining(`ip:${request.ip}`, this.now());
    if (remaining > 0) {
      throw tooManyRequests(
        'too many failed authentications from this address; retry later',
        remaining / 1000,
      );
    }
  };

  /** Hooks after access control (refuse throttled clients, observe answers) and the persistence loop. */
  install(app: App): void {
    if (!this.#enabled) {
      return;
    }
    app.addHook('onRequest', async (request) => {
      const clientId = request.principal?.clientId;
      const remaining = clientId ? this.throttles.remaining(`client:${clientId}`, this.now()) : 0;
      if (remaining > 0) {
        throw tooManyRequests(
          'this client is throttled after unusual activity (an administrator has been alerted); retry later',
          remaining / 1000,
        );
      }
    });
    // onSend rather than onResponse: the answer that trips a rule leaves once the throttle is set
    // and the alert (or suspension) is durable, as the audit entry is.
    app.addHook('onSend', async (request, reply) => {
      const findings = this.#observe(request, reply);
      for (const finding of findings) {
        await this.#act(finding, app).catch((error: unknown) =>
          request.log.error({ err: error, rule: finding.rule }, 'anomaly guard could not record an alert'),
        );
      }
    });
    let periodic: Periodic | undefined;
    app.addHook('onReady', async () => {
      await this.#load();
      periodic = runPeriodically(
        this.#intervalMs,
        () => this.#persist(),
        (error) => app.log.error({ err: error }, 'anomaly guard could not persist its counts'),
      );
    });
    app.addHook('onClose', async () => {
      await periodic?.stop();
      await this.#flush();
    });
  }

  /** After an admin lifted an alert: its throttle ends, and the subject is judged afresh. */
  lifted(alert: queries.AlertRow): void {
    const subject = queries.subjectOf(alert);
    if (alert.action === 'suspend') {
      this.throttles.clear(subject);
    } else {
      this.throttles.lift(subject, alert.id);
    }
    if (alert.client_id) {
      this.detector.forgetClient(alert.client_id);
    } else {
      this.detector.forgetSource(subject);
    }
  }

  #observe(request: FastifyRequest, reply: FastifyReply): Finding[] {
    const access = request.routeOptions.config.access;
    // The guard's own refusals and rate limits do no work and are not counted.
    if (!access || reply.statusCode === 429) {
      return [];
    }
    const at = this.now();
    if ('public' in access) {
      // Public routes are not judged, except for the credentials a route like /oauth/token refused.
      return request.credentialRefused ? this.#failure(request, at) : [];
    }
    const principal = request.principal;
    if (principal) {
      return this.detector.observeClient(principal.clientId, {
        at,
        status: reply.statusCode,
        lookups: request.lookups,
      });
    }
    return reply.statusCode === 401 ? this.#failure(request, at) : [];
  }

  /** A failed authentication, by source address and the public prefix of the API key presented. */
  #failure(request: FastifyRequest, at: number): Finding[] {
    const presented = presentedToken(request);
    const keyPrefix = presented === undefined ? undefined : parseApiKey(presented)?.prefix;
    return this.detector.observeFailure({ at, address: request.ip, keyPrefix });
  }

  async #act(finding: Finding, app: App): Promise<void> {
    const at = this.now();
    const { severity, response } = ruleDefinitions[finding.rule];
    const clientId = 'clientId' in finding.subject ? finding.subject.clientId : undefined;
    const subject = clientId ? `client:${clientId}` : (finding.subject as { source: string }).source;
    const escalationMs = this.thresholds.escalationHours * HOUR_MS;
    let action: Action = response === 'alert' ? 'alert' : 'throttle';
    if (response === 'escalate' && clientId && this.throttles.hasStrike(subject, at, escalationMs)) {
      action = 'suspend';
    }
    const until = action === 'throttle' ? at + this.thresholds.throttleSeconds * 1000 : undefined;
    if (until !== undefined) {
      // Set before any await: the client's next request is refused even while the alert is written.
      this.throttles.add(subject, at, until, response === 'escalate');
    }
    const alert = {
      clientId,
      source: clientId ? undefined : subject,
      rule: finding.rule,
      severity,
      action,
      evidence: finding.evidence,
      throttledUntil: until === undefined ? undefined : new Date(until),
      at: new Date(at),
    };
    const row = await this.#db.transaction().execute(async (trx) => {
      if (action === 'suspend' && clientId) {
        await queries.suspendClient(trx, clientId, new Date(at));
      }
      return queries.insertAlert(trx, alert);
    });
    this.throttles.attach(subject, row.id);
    if (action === 'suspend' && clientId) {
      app.clientChanges.changed(clientId);
    }
    app.log.warn({ alert: row.id, rule: finding.rule, action, client: clientId }, 'anomaly guard tripped');
  }

  /** Baselines and current-hour counts from the database (at start, then once an hour), and throttles. */
  async #load(): Promise<void> {
    const at = this.now();
    const hour = hourOf(at);
    const days = this.thresholds.baselineDays;
    const [baselines, current] = await Promise.all([
      queries.readBaselines(this.#db, hour - days * 24, hour),
      queries.readHour(this.#db, hour),
    ]);
    this.detector.loadBaselines(baselines, current, at);
    this.#loadedHour = hour;
    await queries.deleteHourlyBefore(this.#db, hour - (days + 1) * 24);
    await this.#syncThrottles();
  }

  async #persist(): Promise<void> {
    await this.#flush();
    if (hourOf(this.now()) !== this.#loadedHour) {
      await this.#load();
    } else {
      await this.#syncThrottles();
    }
  }

  async #flush(): Promise<void> {
    const deltas = this.detector.takePending();
    try {
      this.detector.applyTotals(await queries.addHourlyCounts(this.#db, deltas));
    } catch (error) {
      this.detector.restorePending(deltas);
      throw error;
    }
  }

  async #syncThrottles(): Promise<void> {
    const since = new Date(this.now() - this.thresholds.escalationHours * HOUR_MS);
    this.throttles.sync(await queries.readThrottles(this.#db, since), this.now());
  }
}
