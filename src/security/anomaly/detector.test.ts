import { randomUUID } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { loadConfig } from '#config/load';
import { AnomalyDetector } from './detector.ts';
import { isStep, KeyHasher } from './lookup-keys.ts';
import { thresholdsFrom } from './rules.ts';
import { SlidingCounts } from './window.ts';

describe('anomaly detector (pure parts)', () => {
  const hasher = new KeyHasher();
  const numbered = (key: string) => hasher.numbered(key)!;

  it('sees a step between near numbers of one series only, modulo the six digits it keeps', () => {
    expect(isStep(numbered('UIN:1000100'), numbered('UIN:1000103'), 10)).toBe(true);
    expect(isStep(numbered('UIN:1000100'), numbered('UIN:1000100'), 10)).toBe(false); // a repeat
    expect(isStep(numbered('UIN:1000100'), numbered('UIN:1000200'), 10)).toBe(false);
    expect(isStep(numbered('UIN:1000100'), numbered('BRN:1000101'), 10)).toBe(false);
    expect(isStep(numbered('UIN:1999999'), numbered('UIN:2000001'), 10)).toBe(true);
    expect(hasher.numbered('UIN-A1')).toBeUndefined(); // fewer than three digits
  });

  it('keeps no key in the clear', () => {
    expect(hasher.hash('UIN:1000100')).not.toContain('1000100');
    expect(JSON.stringify(numbered('UIN:1234567890'))).not.toContain('1234');
  });

  it('sums only the minutes of the window', () => {
    const window = new SlidingCounts(10, ['n']);
    window.add(100, { n: 1 });
    window.add(105, { n: 2 });
    window.add(109, { n: 4 });
    expect(window.sum(109).n).toBe(7);
    expect(window.sum(110).n).toBe(6);
    window.add(115, { n: 8 }); // reuses the slot of minute 105
    expect(window.sum(115).n).toBe(12);
  });

  it('finds no walk in random record ids, however many', () => {
    const detector = new AnomalyDetector(thresholdsFrom(loadConfig({})));
    const at = Date.parse('2025-03-04T10:00:00Z');
    for (let i = 0; i < 500; i += 1) {
      const findings = detector.observeClient('c1', {
        at: at + i * 100,
        status: 200,
        lookups: { keys: [`individual:${randomUUID()}`], found: 1 },
      });
      expect(findings).toEqual([]);
    }
  });
});
