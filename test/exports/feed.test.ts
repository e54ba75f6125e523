import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { testDatabaseUrl } from '#test/db';
import { insertHousehold } from '#test/factories';
import { newClient } from '#test/clients';
import { setPolicy } from '#test/security/policy/helpers';
import { createExportTestApp, type ExportTestApp } from './support.ts';

/**
 * The export change feed over a real WebSocket on 127.0.0.1: a snapshot first if asked, then every
 * change, resumable from the last cursor without loss, even when transactions commit out of order.
 */

interface Message {
  type: string;
  record?: Record<string, unknown>;
  cursor?: string;
  status?: number;
  detail?: string;
}

let t: ExportTestApp;
let base: string;

/** A feed connection that collects its messages. */
class FeedClient {
  readonly messages: Message[] = [];
  readonly socket: WebSocket;
  closed: { code: number; reason: string } | undefined;
  readonly opened: Promise<void>;

  constructor(path: string, key = t.adminKey) {
    this.socket = new WebSocket(`${base}${path}`, {
      headers: { authorization: `Bearer ${key}`, 'x-purpose': 'feed test' },
    });
    this.socket.on('message', (data: Buffer) => this.messages.push(JSON.parse(data.toString()) as Message));
    this.socket.on('close', (code, reason) => (this.closed = { code, reason: reason.toString() }));
    // Open once the feed said where it starts: changes made from then on are sent.
    this.opened = new Promise((resolve, reject) => {
      this.socket.on('message', () => {
        if (this.messages[0]?.type === 'ready' || this.messages[0]?.type === 'error') {
          resolve();
        }
      });
      this.socket.once('unexpected-response', (req, res) => {
        req.destroy();
        reject(new Error(`HTTP ${res.statusCode}`));
      });
      this.socket.once('error', reject);
    });
  }

  of(type: string): Message[] {
    return this.messages.filter((m) => m.type === type);
  }

  async until(predicate: (messages: Message[]) => boolean, timeout = 10_000): Promise<void> {
    await expect.poll(() => predicate(this.messages), { timeout, interval: 20 }).toBe(true);
  }

  lastCursor(): string {
    return this.messages.filter((m) => m.cursor).at(-1)!.cursor!;
  }

  async close(): Promise<void> {
    if (this.socket.readyState !== WebSocket.CLOSED) {
      const closed = new Promise((resolve) => this.socket.once('close', resolve));
      this.socket.close();
      await closed;
    }
  }
}

const feedPath = (name: string, query: Record<string, string> = {}) =>
  `/api/v1/export-definitions/${name}/feed?${new URLSearchParams({ legal_basis: 'public_task', ...query })}`;

const setScore = (id: string, score: number) =>
  t.database.db.updateTable('households').set({ pmt_score: score }).where('id', '=', id).execute();

/**
 * A household of the seed with at least two members, the same one on every run: tests here also add
 * households without members, under random ids, so "the first household" may have none.
 */
const householdWithMembers = () =>
  t.database.db
    .selectFrom('households as h')
    .innerJoin('individuals as i', 'i.household_id', 'h.id')
    .select(['h.id', 'h.admin_area_code'])
    .groupBy(['h.id', 'h.admin_area_code'])
    .having((eb) => eb.fn.countAll(), '>=', 2)
    .orderBy('h.household_number')
    .limit(1)
    .executeTakeFirstOrThrow();

beforeAll(async () => {
  // A client may open 4 feeds at once (the default); the gateway serves 6 here.
  t = await createExportTestApp(30, { exportFeedPollMs: 50, exportFeedsTotal: 6 });
  await t.define({
    name: 'households',
    entity: 'households',
    fields: ['id', 'admin_area_code', 'pmt_score'],
    format: 'json',
  });
  await t.define({
    name: 'people',
    entity: 'individuals',
    fields: ['id', 'given_name', 'sex'],
    format: 'json',
  });
  const address = await t.app.listen({ port: 0, host: '127.0.0.1' });
  base = address.replace('http', 'ws');
});
afterAll(() => t.close());

describe('export change feed', () => {
  it('sends a snapshot, then each change as it is committed', async () => {
    const feed = new FeedClient(feedPath('households', { snapshot: 'true' }));
    await feed.opened;
    await feed.until((m) => m.some((x) => x.type === 'snapshot_end'));
    const ids = await t.database.db.selectFrom('households').select('id').orderBy('id').execute();
    expect(feed.of('snapshot').map((m) => m.record!['id'])).toEqual(ids.map((h) => h.id));

    const target = ids[3]!.id;
    await setScore(target, 12.5);
    await feed.until((m) => m.some((x) => x.type === 'change' && x.record!['id'] === target));
    expect(feed.of('change').find((m) => m.record!['id'] === target)!.record).toMatchObject({
      pmt_score: 12.5,
    });

    const created = await insertHousehold(t.database.db);
    await feed.until((m) => m.some((x) => x.type === 'change' && x.record!['id'] === created));
    expect(feed.of('caught_up').length).toBeGreaterThan(0);
    await feed.close();
  });

  it('resumes from the last cursor without losing a change made while away', async () => {
    const feed = new FeedClient(feedPath('households'));
    await feed.opened;
    const [first, second, third] = (
      await t.database.db.selectFrom('households').select('id').orderBy('id').limit(3).execute()
    ).map((h) => h.id);
    await setScore(first!, 20);
    await feed.until((m) => m.some((x) => x.type === 'change' && x.record!['id'] === first));
    const cursor = feed.lastCursor();
    await feed.close();

    await setScore(second!, 21);
    await setScore(third!, 22);
    await setScore(first!, 23);

    const resumed = new FeedClient(feedPath('households', { cursor }));
    await resumed.opened;
    await resumed.until((m) => m.filter((x) => x.type === 'change').length >= 3);
    const changes = resumed.of('change').map((m) => [m.record!['id'], m.record!['pmt_score']]);
    expect(changes).toEqual(
      expect.arrayContaining([
        [second, 21],
        [third, 22],
        [first, 23],
      ]),
    );
    // Nothing from before the cursor comes again.
    expect(changes).not.toContainEqual([first, 20]);
    await resumed.close();
  });

  it.skipIf(!testDatabaseUrl())(
    'misses no change of a transaction that commits after a later one (PostgreSQL)',
    async () => {
      const feed = new FeedClient(feedPath('households'));
      await feed.opened;
      const [slow, fast] = (
        await t.database.db.selectFrom('households').select('id').orderBy('id', 'desc').limit(2).execute()
      ).map((h) => h.id);
      let release!: () => void;
      const released = new Promise<void>((resolve) => (release = resolve));
      let began!: () => void;
      const begun = new Promise<void>((resolve) => (began = resolve));
      // The slow transaction writes first (its transaction id is older) and commits last.
      const slowWrite = t.database.db.transaction().execute(async (trx) => {
        await trx.updateTable('households').set({ pmt_score: 31 }).where('id', '=', slow!).execute();
        began();
        await released;
      });
      await begun;
      await setScore(fast!, 32);
      await feed.until((m) => m.some((x) => x.type === 'change' && x.record!['id'] === fast));
      expect(feed.of('change').some((m) => m.record!['id'] === slow)).toBe(false);
      release();
      await slowWrite;
      await feed.until((m) => m.some((x) => x.type === 'change' && x.record!['id'] === slow));
      await feed.close();
    },
  );

  it('follows only what the caller may see: its fields and areas', async () => {
    const analyst = await newClient(t, 'analyst');
    const inArea = await householdWithMembers();
    await setPolicy(t, analyst.id, { area_codes: [inArea.admin_area_code] });
    const outside = await t.database.db
      .selectFrom('households')
      .select('id')
      .where('admin_area_code', '<>', inArea.admin_area_code)
      .where('admin_area_code', 'not like', `${inArea.admin_area_code}-%`)
      .limit(1)
      .executeTakeFirst();
    const people = new FeedClient(feedPath('people', { snapshot: 'true' }), analyst.key);
    await people.opened;
    await people.until((m) => m.some((x) => x.type === 'snapshot_end'));
    expect(people.of('snapshot').length).toBeGreaterThan(0);
    for (const message of people.of('snapshot')) {
      expect(Object.keys(message.record!)).toEqual(['id', 'sex']);
    }
    await people.close();

    const households = new FeedClient(feedPath('households'), analyst.key);
    await households.opened;
    await setScore(outside!.id, 40);
    await setScore(inArea.id, 41);
    await households.until((m) => m.some((x) => x.type === 'change' && x.record!['id'] === inArea.id));
    expect(households.of('change').some((m) => m.record!['id'] === outside!.id)).toBe(false);
    await households.close();
  });

  it('follows the flat view: every member when the household changes, one when the person does', async () => {
    await t.define({
      name: 'flat',
      entity: 'household_members',
      fields: ['id', 'household_id', 'given_name', 'household_pmt_score'],
      format: 'json',
    });
    const feed = new FeedClient(feedPath('flat', { snapshot: 'true' }));
    await feed.opened;
    await feed.until((m) => m.some((x) => x.type === 'snapshot_end'));
    const people = await t.database.db
      .selectFrom('individuals')
      .select((eb) => eb.fn.countAll<number>().as('n'))
      .executeTakeFirst();
    expect(feed.of('snapshot')).toHaveLength(Number(people!.n));

    const household = await householdWithMembers();
    const members = await t.database.db
      .selectFrom('individuals')
      .select('id')
      .where('household_id', '=', household.id)
      .execute();
    await setScore(household.id, 7.25);
    await feed.until((m) =>
      members.every((p) => m.some((x) => x.type === 'change' && x.record!['id'] === p.id)),
    );
    for (const change of feed.of('change')) {
      expect(change.record).toMatchObject({ household_id: household.id, household_pmt_score: 7.25 });
    }
    const before = feed.of('change').length;
    await t.database.db
      .updateTable('individuals')
      .set({ given_name: 'Zawadi' })
      .where('id', '=', members[0]!.id)
      .execute();
    await feed.until((m) => m.some((x) => x.type === 'change' && x.record!['given_name'] === 'Zawadi'));
    expect(feed.of('change').slice(before)).toHaveLength(1);
    await feed.close();
  });

  it('audits the feed when it opens and, with the records sent, when it closes', async () => {
    const feed = new FeedClient(feedPath('households', { snapshot: 'true' }));
    await feed.opened;
    await feed.until((m) => m.some((x) => x.type === 'snapshot_end'));
    const sent = feed.of('snapshot').length;
    await feed.close();
    await expect
      .poll(async () => {
        const audit = await t.send('GET', '/api/v1/audit?action=export.feed.done');
        return audit.json<{ items: Record<string, unknown>[] }>().items[0];
      })
      .toMatchObject({
        record_count: sent,
        purpose: 'feed test',
        legal_basis: 'public_task',
        outcome: 'success',
      });
    const opened = await t.send('GET', '/api/v1/audit?action=export.feed');
    expect(opened.json<{ items: unknown[] }>().items.length).toBeGreaterThan(0);
  });

  describe('refusals', () => {
    it('answers a plain GET with 426, and an unauthenticated upgrade with 401', async () => {
      const plain = await t.get(feedPath('households'), t.adminKey, { 'x-purpose': 'x' });
      expect(plain.statusCode).toBe(426);
      const anonymous = new WebSocket(`${base}${feedPath('households')}`);
      anonymous.on('error', () => undefined);
      const status = await new Promise((resolve) =>
        anonymous.once('unexpected-response', (req, res) => {
          req.destroy();
          resolve(res.statusCode);
        }),
      );
      expect(status).toBe(401);
    });

    it('refuses a bad legal basis before the upgrade', async () => {
      const feed = new FeedClient(feedPath('households', { legal_basis: 'whim' }));
      await expect(feed.opened).rejects.toThrow('HTTP 400');
    });

    it.each([
      ['a cursor it never gave', 'households', { cursor: 'bm90IGEgY3Vyc29y' }, 400, /cursor/],
      ['an unknown definition', 'nothing', {}, 404, /export definition/],
    ])('closes on %s, saying why', async (_what, name, query, status, detail) => {
      const feed = new FeedClient(feedPath(name, query));
      await feed.opened;
      await feed.until(() => feed.closed !== undefined);
      expect(feed.of('error')[0]).toMatchObject({ status, detail: expect.stringMatching(detail) as unknown });
      expect(feed.closed!.code).toBe(1008);
    });
  });

  describe('limits', () => {
    it("refuses a feed past the client's limit (429) or the gateway's (503), naming it", async () => {
      const open = async (key: string) => {
        const feed = new FeedClient(feedPath('households'), key);
        await feed.opened;
        return feed;
      };
      const mine = await Promise.all([1, 2, 3, 4].map(() => open(t.adminKey)));
      expect(mine.every((feed) => feed.of('ready').length === 1)).toBe(true);
      const fifth = await open(t.adminKey);
      await fifth.until(() => fifth.closed !== undefined);
      expect(fifth.of('error')[0]).toMatchObject({
        status: 429,
        detail: expect.stringContaining('at most 4 export feeds may be open at once per client') as unknown,
      });
      expect(fifth.closed!.code).toBe(1008);

      const other = await newClient(t, 'integrator');
      const theirs = await Promise.all([1, 2].map(() => open(other.key)));
      const seventh = await open(other.key);
      await seventh.until(() => seventh.closed !== undefined);
      expect(seventh.of('error')[0]).toMatchObject({
        status: 503,
        detail: expect.stringContaining('at most 6 export feeds at once (SPX_EXPORT_FEEDS_TOTAL)') as unknown,
      });
      expect(seventh.closed!.code).toBe(1013);

      // A feed closed is counted out: its place can be taken again.
      await mine[0]!.close();
      await expect
        .poll(async () => {
          const again = await open(t.adminKey);
          const ready = again.of('ready').length === 1;
          await again.close();
          return ready;
        })
        .toBe(true);
      await Promise.all([...mine, ...theirs].map((feed) => feed.close()));
    });
  });
});
