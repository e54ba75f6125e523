import { describe, expect, it } from 'vitest';
import { inTurns, JSON_TEXT, jsonPieces, Slots } from './long-reads.ts';

describe('long reads', () => {
  it('counts what is open per client and in total, and frees a place once released', () => {
    const slots = new Slots('feeds', { perClient: 2, total: 3 }, { perClient: 'PER_CLIENT', total: 'TOTAL' });
    const a1 = slots.take('a');
    slots.take('a');
    expect(() => slots.take('a')).toThrow(
      expect.objectContaining({ status: 429, detail: expect.stringContaining('at most 2 feeds') as unknown }),
    );
    slots.take('b');
    expect(() => slots.take('c')).toThrow(
      expect.objectContaining({ status: 503, detail: expect.stringContaining('(TOTAL)') as unknown }),
    );
    a1();
    a1(); // a second release changes nothing
    slots.take('c');
    expect(() => slots.take('a')).toThrow(expect.objectContaining({ status: 503 }));
  });

  it('writes JSON in pieces that join up to what JSON.stringify writes, keys in their order', () => {
    const value = {
      z: [1, undefined, { b: 'x"y', a: null }],
      a: { deep: { deeper: { deepest: { level: [[[{ seven: 7 }]]] } } }, at: new Date(0) },
      gone: undefined,
      f: () => 1,
    };
    expect([...jsonPieces(value, JSON_TEXT)].join('')).toBe(JSON.stringify(value));
  });

  it('shapes items a slice per turn of the event loop, in their order', async () => {
    let turn = 0;
    const count = () => {
      turn += 1;
      if (turn < 50) {
        setImmediate(count);
      }
    };
    setImmediate(count);
    const turns: number[] = [];
    const shaped = inTurns([1, 2, 3, 4, 5], (n) => (turns.push(turn), n * 10), 2);
    expect(await Promise.all(shaped)).toEqual([10, 20, 30, 40, 50]);
    // Two items, two items, one item: three turns.
    expect(new Set(turns).size).toBe(3);
  });
});
