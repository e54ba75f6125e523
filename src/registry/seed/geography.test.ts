import { describe, expect, it } from 'vitest';
import { type AdminArea, buildGeography, type Point, samplePointInRing } from './geography.ts';
import { Rng } from './random.ts';

/** Winding number of the ring around the point (independent of the sampler's crossing-number test). */
function winds(point: Point, ring: readonly Point[]): boolean {
  const [x, y] = point;
  let winding = 0;
  for (let i = 0; i < ring.length - 1; i++) {
    const [x1, y1] = ring[i]!;
    const [x2, y2] = ring[i + 1]!;
    const side = (x2 - x1) * (y - y1) - (x - x1) * (y2 - y1);
    if (y1 <= y && y2 > y && side > 0) {
      winding++;
    } else if (y1 > y && y2 <= y && side < 0) {
      winding--;
    }
  }
  return winding !== 0;
}

/** Shoelace area; positive for a counter-clockwise ring. */
const signedArea = (ring: readonly Point[]) =>
  ring.slice(0, -1).reduce((sum, [x1, y1], i) => sum + (x1 * ring[i + 1]![1] - ring[i + 1]![0] * y1), 0) / 2;

function bbox(ring: readonly Point[]) {
  const lons = ring.map((p) => p[0]);
  const lats = ring.map((p) => p[1]);
  return {
    minLon: Math.min(...lons),
    maxLon: Math.max(...lons),
    minLat: Math.min(...lats),
    maxLat: Math.max(...lats),
  };
}

const childrenOf = (areas: AdminArea[], parent: AdminArea) =>
  areas.filter((a) => a.parentCode === parent.code);

describe('the admin hierarchy', () => {
  const geography = buildGeography(11, 20_000);
  const { areas } = geography;

  it('has regions > districts > villages with codes naming their parents', () => {
    const levels = new Set(areas.map((a) => `${a.level}:${a.levelName}`));
    expect(levels).toEqual(new Set(['1:region', '2:district', '3:village']));
    for (const area of areas) {
      const parent = areas.find((a) => a.code === area.parentCode);
      expect(area.level === 1 ? parent : parent?.level).toBe(area.level === 1 ? undefined : area.level - 1);
      expect(area.code).toMatch(/^R\d{2}(-D\d{2}(-V\d{3})?)?$/);
      if (parent) {
        expect(area.code.startsWith(`${parent.code}-`)).toBe(true);
      }
    }
    expect(new Set(areas.map((a) => a.code)).size).toBe(areas.length);
  });

  it('gives every area a closed, counter-clockwise ring (RFC 7946 section 3.1.6)', () => {
    for (const area of areas) {
      expect(area.ring.at(-1)).toEqual(area.ring[0]);
      expect(signedArea(area.ring)).toBeGreaterThan(0);
    }
  });

  it('tiles each parent with its children: every point of the parent lies in exactly one child', () => {
    const rng = new Rng(99);
    const parents = areas.filter((a) => a.level < 3);
    for (const parent of parents) {
      const children = childrenOf(areas, parent);
      const childArea = children.reduce((sum, child) => sum + signedArea(child.ring), 0);
      expect(childArea).toBeCloseTo(signedArea(parent.ring), 4);
      const box = bbox(parent.ring);
      for (let i = 0; i < 200; i++) {
        const point: Point = [
          box.minLon + rng.float() * (box.maxLon - box.minLon),
          box.minLat + rng.float() * (box.maxLat - box.minLat),
        ];
        const holders = children.filter((child) => winds(point, child.ring)).length;
        expect(holders).toBe(winds(point, parent.ring) ? 1 : 0);
      }
    }
  });

  it('scales villages with households, keeping all three levels for small registries', () => {
    const villages = (households: number) => buildGeography(1, households).villages.length;
    expect(villages(10)).toBeGreaterThanOrEqual(8);
    expect(villages(2_000)).toBeGreaterThanOrEqual(8);
    expect(villages(2_000)).toBeLessThanOrEqual(25);
    const large = villages(200_000);
    expect(200_000 / large).toBeGreaterThan(100);
    expect(200_000 / large).toBeLessThan(300);
    expect(new Set(buildGeography(1, 10).areas.map((a) => a.level))).toEqual(new Set([1, 2, 3]));
  });

  it('samples household locations inside the village polygon', () => {
    const rng = new Rng(5);
    for (const village of geography.villages.slice(0, 40)) {
      for (let i = 0; i < 50; i++) {
        expect(winds(samplePointInRing(rng, village.ring), village.ring)).toBe(true);
      }
    }
  });

  it('draws the same map for the same seed and another for another seed', () => {
    expect(buildGeography(11, 20_000).areas).toEqual(areas);
    expect(buildGeography(12, 20_000).areas).not.toEqual(areas);
  });
});
