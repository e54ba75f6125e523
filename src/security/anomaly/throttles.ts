/**
 * Throttles in force on this gateway, by subject (`client:<id>`, `ip:<address>`), and the recent
 * escalating throttles of each client ("strikes": a second escalating trip while one counts
 * suspends). Set in memory the moment a rule trips, so the next request is refused before the alert
 * is even written; synchronised from the alerts table so throttles set or lifted on another gateway
 * (or before a restart) apply here too.
 */

export interface ThrottleRow {
  id: string;
  subject: string;
  rule: string;
  escalates: boolean;
  created_at: Date;
  throttled_until: Date | null;
  lifted_at: Date | null;
}

interface Throttle {
  until: number;
  alertId: string | undefined;
}

interface Strike {
  at: number;
  alertId: string | undefined;
}

export class Throttles {
  readonly #active = new Map<string, Throttle>();
  readonly #strikes = new Map<string, Strike>();

  /** Milliseconds the subject stays throttled (0: not throttled). */
  remaining(subject: string, now: number): number {
    const throttle = this.#active.get(subject);
    if (!throttle) {
      return 0;
    }
    if (throttle.until <= now) {
      this.#active.delete(subject);
      return 0;
    }
    return throttle.until - now;
  }

  /** A throttle starting now; `escalates` records a strike against the subject. */
  add(subject: string, now: number, until: number, escalates: boolean): void {
    this.#active.set(subject, { until, alertId: undefined });
    if (escalates) {
      this.#strikes.set(subject, { at: now, alertId: undefined });
    }
  }

  /** Names the alert of a throttle set before its row was written (so that lifting it finds it). */
  attach(subject: string, alertId: string): void {
    const throttle = this.#active.get(subject);
    if (throttle && throttle.alertId === undefined) {
      throttle.alertId = alertId;
    }
    const strike = this.#strikes.get(subject);
    if (strike && strike.alertId === undefined) {
      strike.alertId = alertId;
    }
  }

  /** True when the subject had an escalating throttle within the window that nobody lifted. */
  hasStrike(subject: string, now: number, windowMs: number): boolean {
    const strike = this.#strikes.get(subject);
    return strike !== undefined && now - strike.at < windowMs;
  }

  /** Ends the throttle and strike an alert set (an admin lifted it). */
  lift(subject: string, alertId: string): void {
    if (this.#active.get(subject)?.alertId === alertId) {
      this.#active.delete(subject);
    }
    if (this.#strikes.get(subject)?.alertId === alertId) {
      this.#strikes.delete(subject);
    }
  }

  /** Ends every throttle and strike of a subject (the client was re-enabled). */
  clear(subject: string): void {
    this.#active.delete(subject);
    this.#strikes.delete(subject);
  }

  /** Applies throttle alerts read from the database: new ones start, lifted ones end. */
  sync(rows: readonly ThrottleRow[], now: number): void {
    for (const row of rows) {
      if (row.lifted_at) {
        this.lift(row.subject, row.id);
        continue;
      }
      const until = row.throttled_until?.getTime() ?? 0;
      if (until > now && (this.#active.get(row.subject)?.until ?? 0) < until) {
        this.#active.set(row.subject, { until, alertId: row.id });
      }
      const at = row.created_at.getTime();
      if (row.escalates && (this.#strikes.get(row.subject)?.at ?? -Infinity) < at) {
        this.#strikes.set(row.subject, { at, alertId: row.id });
      }
    }
  }
}
