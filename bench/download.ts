/**
 * The export benchmark's client, in a process of its own so that its memory and CPU are not the
 * gateway's: GETs a URL, reads the body as it streams, and prints the bytes, lines and seconds as
 * one JSON line. Usage: download.ts URL [HEADER=VALUE ...]
 */
const [url, ...headerArgs] = process.argv.slice(2);
if (!url) {
  console.error('usage: download.ts URL [HEADER=VALUE ...]');
  process.exit(2);
}
const headers = Object.fromEntries(
  headerArgs.map((arg) => [arg.slice(0, arg.indexOf('=')), arg.slice(arg.indexOf('=') + 1)]),
);
const started = performance.now();
const response = await fetch(url, { headers });
if (!response.ok || !response.body) {
  console.error(`GET ${url} answered ${response.status}: ${await response.text()}`);
  process.exit(1);
}
let bytes = 0;
let lines = 0;
for await (const chunk of response.body as unknown as AsyncIterable<Uint8Array>) {
  bytes += chunk.length;
  for (const byte of chunk) {
    if (byte === 10) {
      lines += 1;
    }
  }
}
console.log(JSON.stringify({ bytes, lines, seconds: (performance.now() - started) / 1000 }));
