import { setImmediate } from 'node:timers/promises';
import { tooManyRequests, unavailable } from '#platform/problem';

/**
 * "Every long read yields to other requests." One thread serves every request, so a read that works
 * for long without giving the event loop back holds up all the others: before this, five export
 * feeds sending their snapshots kept `/health` waiting for seconds. Long reads therefore work in
 * bounded slices (a batch of rows, a few milliseconds of shaping or serialising) and give the event
 * loop back between them; and those that stay open (the export feeds) are counted, per client and
 * in total, so that one reader cannot take the gateway for itself.
 */

/** How long a long read works before it gives the event loop back, in milliseconds. */
export const SLICE_MS = 5;

/** Gives the event loop back whenever a slice of work has taken its time. */
export class TimeSlicer {
  #since = performance.now();

  constructor(private readonly sliceMs = SLICE_MS) {}

  /** Call between two small steps: waits for other work when this slice is used up. */
  async pause(): Promise<void> {
    if (performance.now() - this.#since >= this.sliceMs) {
      await setImmediate();
      this.#since = performance.now();
    }
  }
}

/**
 * Each item shaped, as a promise, `perTurn` items per turn of the event loop: a consumer that works
 * on each item as it resolves (GraphQL completing a list of nodes) does so a slice at a time.
 */
export function inTurns<T, R>(items: readonly T[], shape: (item: T) => R, perTurn = 50): Promise<R>[] {
  const results: Promise<R>[] = [];
  let turn = Promise.resolve();
  for (let at = 0; at < items.length; at += perTurn) {
    const slice = items.slice(at, at + perTurn);
    turn = turn.then(() => setImmediate());
    const shaped = turn.then(() => slice.map(shape));
    slice.forEach((_, i) => results.push(shaped.then((list) => list[i]!)));
  }
  return results;
}

/**
 * How deep jsonPieces walks by default: down to the records of an answer (a DCI search answer:
 * envelope, message, search_response, an item, its data, reg_records; a GraphQL answer: data, a
 * connection, edges, an edge, its node), each then written whole.
 */
const WALKED_DEPTH = 6;

export interface JsonWriting {
  /** Writes a value whole (JSON.stringify, or a canonical form); undefined for what JSON leaves out. */
  write: (value: unknown) => string | undefined;
  /** Object keys in sorted order (canonical JSON) rather than as they come. */
  sortKeys?: boolean;
}

/** JSON as JSON.stringify writes it (keys in their order). */
export const JSON_TEXT: JsonWriting = { write: (value) => JSON.stringify(value) };

/** Plain objects and arrays, which jsonPieces takes apart (anything else is written whole). */
function walkable(value: unknown): value is Record<string, unknown> | unknown[] {
  if (Array.isArray(value)) {
    return true;
  }
  if (value === null || typeof value !== 'object' || 'toJSON' in value) {
    return false;
  }
  const prototype = Object.getPrototypeOf(value) as unknown;
  return prototype === Object.prototype || prototype === null;
}

/** Values JSON leaves out of an object (and writes as null in an array). */
const unwritten = (value: unknown) =>
  value === undefined || ['function', 'symbol', 'bigint'].includes(typeof value);

/**
 * The JSON text of a value in pieces, their concatenation the text `writing.write` gives for the
 * whole: the containers near the root are walked and what lies deeper is written whole, so that a
 * large answer can be written a few records at a time with the event loop given back in between.
 */
export function* jsonPieces(value: unknown, writing: JsonWriting, depth = 0): Generator<string> {
  if (depth >= WALKED_DEPTH || !walkable(value)) {
    yield unwritten(value) ? 'null' : (writing.write(value) ?? 'null');
    return;
  }
  if (Array.isArray(value)) {
    yield '[';
    for (const [i, item] of value.entries()) {
      yield i === 0 ? '' : ',';
      yield* jsonPieces(item, writing, depth + 1);
    }
    yield ']';
    return;
  }
  yield '{';
  let separator = '';
  const keys = Object.keys(value);
  for (const key of writing.sortKeys ? keys.sort() : keys) {
    if (!unwritten(value[key])) {
      yield `${separator}${writing.write(key)!}:`;
      yield* jsonPieces(value[key], writing, depth + 1);
      separator = ',';
    }
  }
  yield '}';
}

/** The JSON text of a value, written a slice at a time (see jsonPieces); `onPiece` sees each piece. */
export async function slicedJson(
  value: unknown,
  writing: JsonWriting,
  onPiece?: (piece: string) => void,
): Promise<string> {
  const slicer = new TimeSlicer();
  const parts: string[] = [];
  for (const piece of jsonPieces(value, writing)) {
    parts.push(piece);
    onPiece?.(piece);
    await slicer.pause();
  }
  // Joining the pieces of 40 MB takes 30 ms: a slice of its own, apart from what follows.
  const text = parts.join('');
  await slicer.pause();
  return text;
}

export interface SlotLimits {
  /** Open at once for one client. */
  perClient: number;
  /** Open at once for everyone. */
  total: number;
}

/**
 * Counts what is open at once (e.g. export feeds): a client past its own limit gets a 429, anyone
 * when the gateway's is reached a 503, each naming the limit and the setting that sets it.
 */
export class Slots {
  readonly #byClient = new Map<string, number>();
  #total = 0;

  constructor(
    private readonly what: string,
    private readonly limits: SlotLimits,
    private readonly settings: { perClient: string; total: string },
  ) {}

  /** Takes a slot for the client, or throws the problem that says why not; returns its release. */
  take(clientId: string): () => void {
    const mine = this.#byClient.get(clientId) ?? 0;
    if (mine >= this.limits.perClient) {
      throw tooManyRequests(
        `at most ${this.limits.perClient} ${this.what} may be open at once per client ` +
          `(${this.settings.perClient}); close one before opening another`,
        5,
      );
    }
    if (this.#total >= this.limits.total) {
      throw unavailable(
        `the gateway serves at most ${this.limits.total} ${this.what} at once (${this.settings.total}); ` +
          'try again later',
      );
    }
    this.#byClient.set(clientId, mine + 1);
    this.#total += 1;
    let released = false;
    return () => {
      if (released) {
        return;
      }
      released = true;
      this.#total -= 1;
      const left = (this.#byClient.get(clientId) ?? 1) - 1;
      if (left > 0) {
        this.#byClient.set(clientId, left);
      } else {
        this.#byClient.delete(clientId);
      }
    };
  }
}
