/**
 * A generated section of a Markdown file lies between `<!-- name:start -->` and `<!-- name:end -->`
 * (the settings table of docs/configuration.md, the benchmark history): the text with that section replaced.
 */
export function replaceSection(text: string, name: string, content: string): string {
  const start = `<!-- ${name}:start -->`;
  const end = `<!-- ${name}:end -->`;
  const from = text.indexOf(start);
  const to = text.indexOf(end);
  if (from < 0 || to < from) {
    throw new MissingSectionError(`no ${start} ... ${end} markers to write the section between`);
  }
  return `${text.slice(0, from + start.length)}\n${content}\n${text.slice(to)}`;
}

export class MissingSectionError extends Error {
  override name = 'MissingSectionError';
}
