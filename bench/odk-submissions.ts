/**
 * Field submissions (ODK issue): ODK Collect submissions of the shipped household registration form
 * (a household of two with a national ID), posted as multipart over HTTP by a load generator in its
 * own process, each stored raw, read through the mapping, validated, checked for duplicates and
 * applied; next to writing the same rows (household, two members, one identifier) with one raw SQL
 * statement per household from the same process, in the same run.
 */
import type { BenchGateway, BenchSettings } from './gateway.ts';
import { higher, type BenchOutput } from './history.ts';
import { closedLoop, loadFromOtherProcess, printTable } from './measure.ts';

const CONNECTIONS = 8;
const BOUNDARY = '----spx-bench-boundary';

// {{value}}: a village code; {{n}}: unique to the request (instanceID, names, national ID).
const INSTANCE =
  `<?xml version='1.0' ?><data id="spx_household_registration" version="2026120701">` +
  `<consent>yes</consent><location><admin_area>{{value}}</admin_area><address>Plot {{n}}</address>` +
  `<gps>-6.7924 39.2083 12.0 4.5</gps></location><dwelling><dwelling_type>permanent</dwelling_type>` +
  `<water_source>piped</water_source><has_electricity>yes</has_electricity></dwelling><members>` +
  `<member><given_name>Head{{n}}</given_name><family_name>Bench</family_name><sex>female</sex>` +
  `<birth_date>1980-01-01</birth_date><relationship>SELF</relationship><national_id>NID-{{n}}</national_id>` +
  `<phone/><disability>no</disability></member>` +
  `<member><given_name>Child{{n}}</given_name><family_name>Bench</family_name><sex>male</sex>` +
  `<birth_date>2015-06-01</birth_date><relationship>CHILD</relationship><national_id/><phone/>` +
  `<disability>no</disability></member></members><member_count>2</member_count><photo/><signature/>` +
  `<meta><instanceID>uuid:bench-{{n}}</instanceID></meta></data>`;
const BODY =
  `--${BOUNDARY}\r\nContent-Disposition: form-data; name="xml_submission_file"; filename="submission.xml"\r\n` +
  `Content-Type: text/xml\r\n\r\n${INSTANCE}\r\n--${BOUNDARY}--\r\n`;

const RAW_SQL = `with h as (
    insert into households (id, household_number, admin_area_code, latitude, longitude, address_line,
      dwelling_type, water_source, has_electricity)
    values (gen_random_uuid(), $1, $2, -6.7924, 39.2083, $3, 'permanent', 'piped', true) returning id),
  head as (
    insert into individuals (id, household_id, relationship_to_head, given_name, family_name, sex, birth_date, consent_data_sharing)
    select gen_random_uuid(), h.id, 'SELF', $4, 'Bench', 'female', '1980-01-01', true from h returning id),
  child as (
    insert into individuals (id, household_id, relationship_to_head, given_name, family_name, sex, birth_date, consent_data_sharing)
    select gen_random_uuid(), h.id, 'CHILD', $5, 'Bench', 'male', '2015-06-01', true from h returning id)
  insert into identifiers (individual_id, id_type, id_value) select head.id, 'UIN', $6 from head, child`;

export async function benchOdkSubmissions(
  bench: BenchGateway,
  settings: BenchSettings,
): Promise<BenchOutput> {
  const connections = settings.connections ?? CONNECTIONS;
  const agent = await bench.keyFor('field_agent', 'bench-enumerator');
  const { rows } = await bench.database.executeSql<{ code: string }>(
    'select code from admin_areas where level = (select max(level) from admin_areas) order by code limit 500',
  );
  const villages = rows.map((r) => r.code);
  const before = await registered(bench);
  const api = await loadFromOtherProcess(
    'API: POST /odk/submission (multipart, end to end)',
    {
      origin: bench.url,
      method: 'POST',
      path: '/odk/submission',
      body: BODY,
      values: villages,
      headers: {
        authorization: `Basic ${Buffer.from(`bench:${agent}`).toString('base64')}`,
        'content-type': `multipart/form-data; boundary=${BOUNDARY}`,
        'x-openrosa-version': '1.0',
      },
      seconds: settings.seconds,
      warmupSeconds: settings.warmupSeconds,
      connections,
    },
    bench.dir,
  );
  const applied = (await registered(bench)) - before;
  await bench.tap.quiet();
  const raw = await closedLoop(
    'raw SQL: the same rows, one statement per household',
    settings.seconds,
    connections,
    (i) =>
      bench.database.executeSql(RAW_SQL, [
        `RAW-${process.pid}-${i}`,
        villages[i % villages.length],
        `Plot raw-${i}`,
        `Head-raw-${i}`,
        `Child-raw-${i}`,
        `NID-raw-${process.pid}-${i}`,
      ]),
  );
  const report = [
    `engine: ${bench.database.engine}, ${settings.households} households, ${connections} connections, ` +
      `${settings.warmupSeconds} s warm-up then ${settings.seconds} s each`,
    printTable([raw, api], raw),
    `Households registered by the submissions (warm-up included): ${applied}; ` +
      `submissions answered 201 in the measured run: ${api.total}.`,
  ].join('\n\n');
  return {
    report,
    metrics: [
      higher('ratio API ÷ raw SQL', api.requestsPerSecond / raw.requestsPerSecond, 'ratio'),
      higher('API: POST /odk/submission, end to end', api.requestsPerSecond, 'req/s'),
    ],
  };
}

/** Change requests applied from ODK: one per accepted submission, none lost. */
const registered = async (bench: BenchGateway) =>
  Number(
    (
      await bench.database.executeSql<{ n: string }>(
        `select count(*) as n from change_requests where source like 'odk:uuid:bench-%' and status = 'applied'`,
      )
    ).rows[0]!.n,
  );
