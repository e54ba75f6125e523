/**
 * A fictional country (about lon 30..36, lat -10..-4) cut into regions > districts > villages. Every area
 * is a quadrilateral; a parent is cut by a jittered grid whose points neighbours share, so children tile
 * their parent with no gap or overlap, and their boundaries are valid GeoJSON Polygons (RFC 7946 section
 * 3.1.6: closed ring, exterior counter-clockwise).
 */
import { type Locale, placeName, regionLocales, regionName } from './names.ts';
import { clamp, Rng, Weighted } from './random.ts';

/** [longitude, latitude] in WGS 84 degrees, the RFC 7946 position order. */
export type Point = readonly [number, number];
/** Corners counter-clockwise from the south-west one: SW, SE, NE, NW. */
type Quad = readonly [Point, Point, Point, Point];

export interface AdminArea {
  code: string;
  name: string;
  level: 1 | 2 | 3;
  levelName: 'region' | 'district' | 'village';
  parentCode: string | null;
  /** Closed exterior ring (first point repeated last), counter-clockwise. */
  ring: Point[];
}

export interface Village extends AdminArea {
  /** Who lives there: the region's locale mix. */
  locales: Weighted<Locale>;
  /** Added to the household welfare (PMT) score: some places are poorer than others. */
  pmtShift: number;
}

export interface Geography {
  /** Every area, parents before children (the order a load must follow). */
  areas: AdminArea[];
  villages: Village[];
  /** Draws the village of the next household, bigger villages more often. */
  villageWeights: Weighted<Village>;
}

/** Villages hold about this many households on average (real ones: a hundred to a few hundred). */
const HOUSEHOLDS_PER_VILLAGE = 180;
/** Grid points move up to this share of a cell: enough to look drawn by hand, too little to fold a cell. */
const JITTER = 0.3;

const round6 = (value: number) => Math.round(value * 1e6) / 1e6;

/** The point at (u, v) of a quad, both in [0, 1] (bilinear: straight along each edge). */
function bilinear(quad: Quad, u: number, v: number): Point {
  const [sw, se, ne, nw] = quad;
  const lon = (1 - v) * ((1 - u) * sw[0] + u * se[0]) + v * ((1 - u) * nw[0] + u * ne[0]);
  const lat = (1 - v) * ((1 - u) * sw[1] + u * se[1]) + v * ((1 - u) * nw[1] + u * ne[1]);
  return [round6(lon), round6(lat)];
}

/** The offset of grid line i of n: 0 on the parent's edge (so children keep to it), jittered inside. */
const offset = (rng: Rng, i: number, n: number) => (i === 0 || i === n ? 0 : (rng.float() * 2 - 1) * JITTER);

/**
 * Cuts a quad into cols x rows quads, row by row from the south-west. Points on the parent's edges slide
 * only along that edge, inner points both ways; each point is computed once and shared by up to four cells.
 */
function subdivide(rng: Rng, quad: Quad, cols: number, rows: number): Quad[] {
  const grid: Point[][] = [];
  for (let j = 0; j <= rows; j++) {
    const row: Point[] = [];
    for (let i = 0; i <= cols; i++) {
      row.push(bilinear(quad, (i + offset(rng, i, cols)) / cols, (j + offset(rng, j, rows)) / rows));
    }
    grid.push(row);
  }
  const cells: Quad[] = [];
  for (let j = 0; j < rows; j++) {
    for (let i = 0; i < cols; i++) {
      cells.push([grid[j]![i]!, grid[j]![i + 1]!, grid[j + 1]![i + 1]!, grid[j + 1]![i]!]);
    }
  }
  return cells;
}

/** A grid of about n cells, as square as allowed (11 gives 4 x 3 rather than a strip of 11 x 1). */
function gridFor(n: number): [cols: number, rows: number] {
  let best: [number, number] = [1, 1];
  let bestScore = Infinity;
  for (let cols = 1; cols <= n; cols++) {
    const rows = Math.max(1, Math.round(n / cols));
    const score = Math.abs(cols * rows - n) / n + 0.3 * Math.abs(Math.log(cols / rows));
    if (score < bestScore) {
      [best, bestScore] = [[cols, rows], score];
    }
  }
  return best;
}

/** How many areas of each level a registry of this size gets; small sizes still have all three levels. */
function layoutFor(households: number) {
  const villages = Math.max(12, Math.round(households / HOUSEHOLDS_PER_VILLAGE));
  const regions = clamp(Math.round(Math.cbrt(villages)), 3, 16);
  const districtsPerRegion = Math.max(2, Math.round(Math.sqrt(villages / regions)));
  const villagesPerDistrict = Math.max(2, Math.ceil(villages / (regions * districtsPerRegion)));
  return { regions, districtsPerRegion, villagesPerDistrict };
}

const ring = (quad: Quad): Point[] => [...quad, quad[0]];
const pad = (n: number, width: number) => String(n).padStart(width, '0');

/** Builds the admin hierarchy of a registry of `households`; the same seed gives the same map. */
export function buildGeography(seed: number, households: number): Geography {
  const rng = new Rng(seed, 1);
  const layout = layoutFor(households);
  const country: Quad = [
    [round6(30 + rng.float() * 0.4), round6(-10 + rng.float() * 0.4)],
    [round6(36 - rng.float() * 0.4), round6(-10 + rng.float() * 0.4)],
    [round6(36 - rng.float() * 0.4), round6(-4 - rng.float() * 0.4)],
    [round6(30 + rng.float() * 0.4), round6(-4 - rng.float() * 0.4)],
  ];
  const areas: AdminArea[] = [];
  const villages: Village[] = [];
  subdivide(rng, country, ...gridFor(layout.regions)).forEach((regionQuad, r) => {
    const region = area(`R${pad(r + 1, 2)}`, regionName(r), 1, null, regionQuad);
    const locales = regionLocales(r);
    const regionShift = rng.normal(0, 5);
    areas.push(region);
    const districtCount = Math.max(2, layout.districtsPerRegion + rng.int(-1, 1));
    subdivide(rng, regionQuad, ...gridFor(districtCount)).forEach((districtQuad, d) => {
      const district = area(`${region.code}-D${pad(d + 1, 2)}`, placeName(rng), 2, region.code, districtQuad);
      areas.push(district);
      const spread = Math.floor(layout.villagesPerDistrict / 3);
      const villageCount = Math.max(2, layout.villagesPerDistrict + rng.int(-spread, spread));
      subdivide(rng, districtQuad, ...gridFor(villageCount)).forEach((villageQuad, v) => {
        const village: Village = {
          ...area(`${district.code}-V${pad(v + 1, 3)}`, placeName(rng), 3, district.code, villageQuad),
          locales,
          pmtShift: regionShift + rng.normal(0, 3),
        };
        areas.push(village);
        villages.push(village);
      });
    });
  });
  // Village sizes vary a lot: a log-normal weight gives a few large villages and many small ones.
  const villageWeights = new Weighted(villages.map((v) => [v, Math.exp(rng.normal(0, 0.5))] as const));
  return { areas, villages, villageWeights };
}

function area(
  code: string,
  name: string,
  level: 1 | 2 | 3,
  parentCode: string | null,
  quad: Quad,
): AdminArea {
  const levelName = level === 1 ? 'region' : level === 2 ? 'district' : 'village';
  return { code, name, level, levelName, parentCode, ring: ring(quad) };
}

/** The boundary as a GeoJSON Polygon object. */
export const boundaryOf = (area: AdminArea) => ({ type: 'Polygon', coordinates: [area.ring] });

/** Whether a point lies inside a closed ring (crossing-number test; points on an edge may go either way). */
export function pointInRing(point: Point, ring: readonly Point[]): boolean {
  const [x, y] = point;
  let inside = false;
  for (let i = 0, j = ring.length - 2; i < ring.length - 1; j = i++) {
    const [xi, yi] = ring[i]!;
    const [xj, yj] = ring[j]!;
    if (yi > y !== yj > y && x < ((xj - xi) * (y - yi)) / (yj - yi) + xi) {
      inside = !inside;
    }
  }
  return inside;
}

/**
 * A uniformly random point strictly inside the ring: draws in the bounding box until one falls inside.
 * Quads fill well over half their box, so 64 misses in a row never happen in practice; should they, the
 * mean of the corners (inside any quad this jitter can produce) is used rather than a point outside.
 */
export function samplePointInRing(rng: Rng, ring: readonly Point[]): Point {
  let [minLon, minLat, maxLon, maxLat] = [Infinity, Infinity, -Infinity, -Infinity];
  for (const [lon, lat] of ring) {
    minLon = Math.min(minLon, lon);
    maxLon = Math.max(maxLon, lon);
    minLat = Math.min(minLat, lat);
    maxLat = Math.max(maxLat, lat);
  }
  for (let attempt = 0; attempt < 64; attempt++) {
    const point: Point = [
      round6(minLon + rng.float() * (maxLon - minLon)),
      round6(minLat + rng.float() * (maxLat - minLat)),
    ];
    if (pointInRing(point, ring)) {
      return point;
    }
  }
  const corners = ring.slice(0, -1);
  return [
    round6(corners.reduce((sum, p) => sum + p[0], 0) / corners.length),
    round6(corners.reduce((sum, p) => sum + p[1], 0) / corners.length),
  ];
}
