/**
 * Households of the synthetic registry: where they live, how poor they are, and what the welfare
 * questionnaire records about them. Poverty drives everything else, as a proxy means test (PMT) does in
 * real social registries: a low score means a poor household, with worse housing and fewer assets.
 */
import { AS_OF, REGISTRATION_START } from './calendar.ts';
import { type Point, type Village, samplePointInRing } from './geography.ts';
import { addressLine, type Locale } from './names.ts';
import { clamp, type Rng, Weighted } from './random.ts';

export type IncomeBand = 'extreme_poor' | 'poor' | 'vulnerable' | 'non_poor';

export interface Household {
  id: string;
  number: string;
  status: 'active' | 'inactive' | 'archived';
  village: Village;
  point: Point;
  addressLine: string;
  /** Proxy means test score, 5..95 with two decimals: lower is poorer. */
  pmt: number;
  incomeBand: IncomeBand;
  dwelling: string;
  water: string;
  electricity: boolean;
  assets: string[];
  locale: Locale;
  registeredDay: number;
  registeredSecond: number;
}

/** PMT cut-offs of the income bands (national poverty lines are set the same way, on the score). */
export const incomeBandOf = (pmt: number): IncomeBand =>
  pmt < 25 ? 'extreme_poor' : pmt < 40 ? 'poor' : pmt < 55 ? 'vulnerable' : 'non_poor';

type ByBand<T> = Record<IncomeBand, Weighted<T>>;

const DWELLING: ByBand<string> = bands(['permanent', 'semi_permanent', 'temporary', 'informal'], {
  extreme_poor: [5, 35, 40, 20],
  poor: [15, 45, 30, 10],
  vulnerable: [35, 45, 15, 5],
  non_poor: [70, 25, 3, 2],
});

const WATER: ByBand<string> = bands(['piped', 'well', 'borehole', 'surface', 'vendor'], {
  extreme_poor: [5, 30, 20, 40, 5],
  poor: [10, 30, 30, 25, 5],
  vulnerable: [25, 25, 30, 10, 10],
  non_poor: [60, 10, 15, 2, 13],
});

function bands<T>(values: readonly T[], weights: Record<IncomeBand, number[]>): ByBand<T> {
  const table = (band: IncomeBand) =>
    new Weighted(values.map((value, i) => [value, weights[band][i]!] as const));
  return {
    extreme_poor: table('extreme_poor'),
    poor: table('poor'),
    vulnerable: table('vulnerable'),
    non_poor: table('non_poor'),
  };
}

/** Chance of owning each asset for the poorest (first) and the best-off (second) households. */
const ASSETS: ReadonlyArray<readonly [string, number, number]> = [
  ['radio', 0.35, 0.8],
  ['tv', 0.02, 0.75],
  ['mobile_phone', 0.4, 0.98],
  ['bicycle', 0.25, 0.45],
  ['motorbike', 0.02, 0.35],
  ['livestock', 0.3, 0.5],
  ['solar_panel', 0.05, 0.4],
  ['refrigerator', 0.0, 0.55],
];

const STATUS = Weighted.of<Household['status']>({ active: 95, inactive: 4, archived: 1 });

/** The household with this 1-based number, living in `village`. */
export function generateHousehold(rng: Rng, number: number, village: Village): Household {
  const pmt = Math.round(clamp(rng.normal(40 + village.pmtShift, 12), 5, 95) * 100) / 100;
  const band = incomeBandOf(pmt);
  const wealth = (pmt - 5) / 90;
  return {
    id: rng.uuid(),
    number: `HH-${String(number).padStart(8, '0')}`,
    status: STATUS.draw(rng),
    village,
    point: samplePointInRing(rng, village.ring),
    addressLine: addressLine(rng),
    pmt,
    incomeBand: band,
    dwelling: DWELLING[band].draw(rng),
    water: WATER[band].draw(rng),
    electricity: rng.chance(0.05 + 0.8 * wealth),
    assets: ASSETS.filter(([, poorest, richest]) => rng.chance(poorest + (richest - poorest) * wealth)).map(
      ([asset]) => asset,
    ),
    locale: village.locales.draw(rng),
    registeredDay: rng.int(REGISTRATION_START, AS_OF),
    // Enumerators register households in daylight: 07:00 to 18:00.
    registeredSecond: rng.int(7 * 3600, 18 * 3600),
  };
}
