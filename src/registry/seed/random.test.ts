import { describe, expect, it } from 'vitest';
import { AS_OF, civil, dayFromCivil, dayOf, formatDay, formatTimestamp, yearsBetween } from './calendar.ts';
import { luhnDigit, NumberSource, bankAccount } from './numbers.ts';
import { Rng, Weighted } from './random.ts';

const draw = (rng: Rng, n: number) => Array.from({ length: n }, () => rng.next());

describe('the seeded generator', () => {
  it('repeats its sequence for a seed and differs between seeds and streams', () => {
    expect(draw(new Rng(42), 100)).toEqual(draw(new Rng(42), 100));
    expect(draw(new Rng(42), 100)).not.toEqual(draw(new Rng(43), 100));
    expect(draw(new Rng(42, 1), 100)).not.toEqual(draw(new Rng(42, 2), 100));
  });

  it('draws integers within bounds, both included, about uniformly', () => {
    const rng = new Rng(7);
    const counts = new Map<number, number>();
    for (let i = 0; i < 60_000; i++) {
      const value = rng.int(1, 6);
      counts.set(value, (counts.get(value) ?? 0) + 1);
    }
    expect([...counts.keys()].sort()).toEqual([1, 2, 3, 4, 5, 6]);
    for (const count of counts.values()) {
      expect(count).toBeGreaterThan(9_500);
      expect(count).toBeLessThan(10_500);
    }
  });

  it('draws normal values with the asked mean and spread', () => {
    const rng = new Rng(9);
    const values = Array.from({ length: 20_000 }, () => rng.normal(40, 12));
    const mean = values.reduce((a, b) => a + b, 0) / values.length;
    const sd = Math.sqrt(values.reduce((a, b) => a + (b - mean) ** 2, 0) / values.length);
    expect(mean).toBeCloseTo(40, 0);
    expect(Math.abs(sd - 12)).toBeLessThan(0.3);
  });

  it('draws weighted values in proportion and never a zero-weight one', () => {
    const rng = new Rng(3);
    const table = new Weighted([
      ['a', 1],
      ['never', 0],
      ['b', 3],
    ] as const);
    const drawn = Array.from({ length: 40_000 }, () => table.draw(rng));
    expect(drawn).not.toContain('never');
    expect(drawn.filter((v) => v === 'b').length / drawn.length).toBeCloseTo(0.75, 1);
  });

  it('makes version 4 shaped UUIDs that do not repeat', () => {
    const rng = new Rng(1);
    const ids = Array.from({ length: 50_000 }, () => rng.uuid());
    for (const id of ids.slice(0, 1000)) {
      expect(id).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    }
    expect(new Set(ids).size).toBe(ids.length);
  });
});

describe('calendar days', () => {
  it('format and convert dates without time zone shifts', () => {
    expect(formatDay(dayOf('2024-02-29'))).toBe('2024-02-29');
    expect(formatDay(0)).toBe('1970-01-01');
    expect(civil(dayOf('1931-12-31'))).toEqual([1931, 12, 31]);
    expect(dayFromCivil(2021, 13, 1)).toBe(dayOf('2022-01-01'));
    expect(formatTimestamp(dayOf('2026-06-30'), 3661)).toBe('2026-06-30 01:01:01+00');
  });

  it('count completed years as ages do', () => {
    expect(yearsBetween(dayOf('2000-07-01'), AS_OF)).toBe(25);
    expect(yearsBetween(dayOf('2000-06-30'), AS_OF)).toBe(26);
  });
});

describe('identity numbers', () => {
  it('gives unique 10-digit national IDs with a valid Luhn check digit', () => {
    const numbers = new NumberSource(new Rng(5));
    const uins = Array.from({ length: 20_000 }, () => numbers.uin());
    expect(new Set(uins).size).toBe(uins.length);
    for (const uin of uins.slice(0, 500)) {
      expect(uin).toMatch(/^[1-9]\d{9}$/);
      expect(luhnDigit(uin.slice(0, -1))).toBe(uin.at(-1));
    }
  });

  it('gives IBAN-shaped bank accounts whose check digits verify (ISO 13616 mod 97)', () => {
    const rng = new Rng(8);
    for (let i = 0; i < 50; i++) {
      const iban = bankAccount(rng);
      const rearranged = (iban.slice(4) + iban.slice(0, 4)).replace(/[A-Z]/g, (c) =>
        String(c.charCodeAt(0) - 55),
      );
      expect(BigInt(rearranged) % 97n).toBe(1n);
    }
  });
});
