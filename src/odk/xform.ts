import { createHash } from 'node:crypto';
import { XMLParser, XMLValidator } from 'fast-xml-parser';

/**
 * Reading XForms (ODK XForms 1.0) and the instances ODK Collect submits. Untrusted XML is refused
 * when it declares a DOCTYPE (ODK never sends one; it is how entity expansion attacks start), and
 * is parsed without namespaces prefixes (`orx:meta` is `meta`), keeping every value a string.
 */

export class XmlError extends Error {
  override name = 'XmlError';
}

const parser = new XMLParser({
  ignoreAttributes: false,
  attributeNamePrefix: '@_',
  removeNSPrefix: true,
  parseTagValue: false,
  parseAttributeValue: false,
  trimValues: true,
  processEntities: true,
  htmlEntities: false,
});

export type XmlNode = Record<string, unknown>;

/** Parses well-formed XML without a DOCTYPE; throws XmlError saying where it is broken. */
export function parseXml(text: string): XmlNode {
  if (/<!DOCTYPE/i.test(text)) {
    throw new XmlError('XML with a DOCTYPE is not accepted');
  }
  const valid = XMLValidator.validate(text);
  if (valid !== true) {
    throw new XmlError(`not well-formed XML: ${valid.err.msg} (line ${valid.err.line})`);
  }
  return parser.parse(text) as XmlNode;
}

/** The media files an XForm refers to (jr://images/x.png, jr://file-csv/areas.csv), without parsing it. */
export const mediaFilesOf = (xml: string): string[] => [
  ...new Set(
    [...xml.matchAll(/jr:\/\/(?:images|audio|video|file|file-csv)\/([^"'<\s)]+)/g)].map((m) => m[1]!),
  ),
];

export const md5Hash = (text: string | Buffer): string =>
  `md5:${createHash('md5').update(text).digest('hex')}`;

/** What the OpenRosa form list and the mapping need to know of a form. */
export interface FormFacts {
  formId: string;
  version: string;
  title: string;
  /** Every node path of the primary instance ("members/member/given_name"), repeats included. */
  paths: Set<string>;
  /** Paths of repeated groups ("members/member"). */
  repeats: Set<string>;
  /** Paths of binary (file) questions: their values name attachments. */
  binaries: Set<string>;
  /** Media files the form refers to (jr://images/x.png, jr://file-csv/areas.csv): listed in its manifest. */
  mediaFiles: string[];
}

const asArray = (value: unknown): XmlNode[] =>
  value === undefined
    ? []
    : ((Array.isArray(value) ? value : [value]).filter((v) => typeof v === 'object') as XmlNode[]);

const textOf = (value: unknown): string =>
  typeof value === 'string'
    ? value
    : value && typeof value === 'object'
      ? String((value as XmlNode)['#text'] ?? '')
      : '';

/** Every element path under `node`, relative to it ("a/b/c"). */
function collectPaths(node: XmlNode, prefix: string, into: Set<string>): void {
  for (const [name, value] of Object.entries(node)) {
    if (name.startsWith('@_') || name === '#text') {
      continue;
    }
    const path = prefix ? `${prefix}/${name}` : name;
    into.add(path);
    for (const child of asArray(value)) {
      collectPaths(child, path, into);
    }
  }
}

/** `/data/members/member/x` → `members/member/x` (relative to the instance root). */
const relative = (nodeset: string, root: string) => nodeset.replace(new RegExp(`^/${root}/?`), '');

/**
 * The facts of an XForm, after checking what ODK's own validator insists on: an h:html with a
 * title, a model whose primary instance has one root with an `id`, a `meta/instanceID` bound to
 * `jr:preload="uid"` (or calculated uuid), and binds and body controls that name existing nodes.
 * Throws XmlError naming the first problem.
 */
export function readXForm(xml: string): FormFacts {
  const doc = parseXml(xml);
  const html = doc['html'] as XmlNode | undefined;
  const head = html?.['head'] as XmlNode | undefined;
  const model = head?.['model'] as XmlNode | undefined;
  if (!html || !head || !model) {
    throw new XmlError('an XForm is an h:html with an h:head holding a model');
  }
  const title = textOf(head['title']).trim();
  if (!title) {
    throw new XmlError('the form has no h:title');
  }
  const primary = asArray(model['instance']).find((instance) => instance['@_id'] === undefined);
  const rootNames = primary ? Object.keys(primary).filter((k) => !k.startsWith('@_') && k !== '#text') : [];
  if (rootNames.length !== 1) {
    throw new XmlError('the model needs a primary instance (without id) holding exactly one root element');
  }
  const rootName = rootNames[0]!;
  const root = asArray(primary![rootName])[0] ?? {};
  const formId = String(root['@_id'] ?? '');
  if (!/^[A-Za-z0-9_.-]{1,64}$/.test(formId)) {
    throw new XmlError(
      'the primary instance root needs an id attribute: letters, digits, _ . - (the form id)',
    );
  }
  const paths = new Set<string>();
  collectPaths(root, '', paths);
  const binds = asArray(model['bind']);
  const facts: FormFacts = {
    formId,
    version: String(root['@_version'] ?? ''),
    title,
    paths,
    repeats: new Set(),
    binaries: new Set(),
    mediaFiles: mediaFilesOf(xml),
  };
  for (const bind of binds) {
    const path = relative(String(bind['@_nodeset'] ?? ''), rootName);
    if (!paths.has(path)) {
      throw new XmlError(`a bind names ${String(bind['@_nodeset'])}, which is not in the primary instance`);
    }
    if (bind['@_type'] === 'binary') {
      facts.binaries.add(path);
    }
  }
  const instanceId = binds.find(
    (bind) => relative(String(bind['@_nodeset']), rootName) === 'meta/instanceID',
  );
  if (
    !instanceId ||
    !(instanceId['@_preload'] === 'uid' || /uuid\(\)/.test(String(instanceId['@_calculate'] ?? '')))
  ) {
    throw new XmlError(
      'the form needs meta/instanceID bound with jr:preload="uid" (ODK identifies submissions by it)',
    );
  }
  checkBody(html['body'] as XmlNode | undefined, rootName, paths, facts.repeats);
  return facts;
}

/** Body controls (input, select1, repeat ...) must refer to instance nodes; records repeats. */
function checkBody(
  body: XmlNode | undefined,
  rootName: string,
  paths: Set<string>,
  repeats: Set<string>,
): void {
  const visit = (node: XmlNode) => {
    for (const [name, value] of Object.entries(node)) {
      for (const control of asArray(value)) {
        const ref = control['@_ref'] ?? control['@_nodeset'];
        if (typeof ref === 'string' && ref.startsWith('/')) {
          const path = relative(ref, rootName);
          if (!paths.has(path)) {
            throw new XmlError(`the ${name} control ${ref} names no node of the primary instance`);
          }
          if (name === 'repeat') {
            repeats.add(path);
          }
        }
        visit(control);
      }
    }
  };
  visit(body ?? {});
}
