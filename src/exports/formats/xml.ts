import {
  HOUSEHOLD_FIELDS,
  INDIVIDUAL_FIELDS,
  MEMBER_FIELDS,
  type FieldType,
  type FieldValue,
  type Identifier,
} from '../fields.ts';
import type { Column } from '../plan.ts';
import type { ExportRecord } from '../source.ts';
import type { Format } from './index.ts';

/**
 * XML in the namespace `urn:spx:export:1`, valid against the published XSD (GET
 * /api/v1/exports/schema.xsd, made below from the same field catalogue): `<export definition version
 * entity>` holding one `<household>`, `<individual>` or `<member>` element per record, one child
 * element per selected field (left out when empty), lists as `<assets><code>…` and
 * `<identifiers><identifier type="UIN">…`, nested members as `<members><individual>…`.
 */

export const XML_NAMESPACE = 'urn:spx:export:1';

const RECORD_ELEMENT = {
  households: 'household',
  individuals: 'individual',
  household_members: 'member',
} as const;

// Characters XML 1.0 cannot hold at all (control characters but tab, LF and CR), then the five
// that must be escaped.
// eslint-disable-next-line no-control-regex
const INVALID = /[^\u0009\u000A\u000D\u0020-\uD7FF\uE000-\uFFFD\u{10000}-\u{10FFFF}]/gu;
const ESCAPES: Record<string, string> = {
  '&': '&amp;',
  '<': '&lt;',
  '>': '&gt;',
  '"': '&quot;',
  "'": '&apos;',
};
const escape = (text: string) => text.replace(INVALID, '').replace(/[&<>"']/g, (c) => ESCAPES[c]!);

function fieldXml(column: Column, value: FieldValue): string {
  if (value === null) {
    return '';
  }
  let content: string;
  if (column.type === 'identifiers') {
    content = (value as readonly Identifier[])
      .map((id) => `<identifier type="${escape(id.type)}">${escape(id.value)}</identifier>`)
      .join('');
  } else if (column.type === 'codes') {
    content = (value as readonly string[]).map((code) => `<code>${escape(code)}</code>`).join('');
  } else {
    content = escape(String(value));
  }
  return `<${column.name}>${content}</${column.name}>`;
}

const fieldsXml = (columns: readonly Column[], values: readonly FieldValue[]) =>
  columns.map((column, i) => fieldXml(column, values[i] ?? null)).join('');

export const xmlFormat: Format = {
  contentType: 'application/xml; charset=utf-8',
  extension: 'xml',
  nests: true,
  writer({ entity, definition, version, columns, memberColumns }) {
    const element = RECORD_ELEMENT[entity];
    const recordXml = (record: ExportRecord) => {
      const members = memberColumns
        ? `<members>${(record.members ?? []).map((m) => `<individual>${fieldsXml(memberColumns, m)}</individual>`).join('')}</members>`
        : '';
      return `<${element}>${fieldsXml(columns, record.values)}${members}</${element}>\n`;
    };
    return {
      start: () =>
        `<?xml version="1.0" encoding="UTF-8"?>\n<export xmlns="${XML_NAMESPACE}" definition="${escape(definition)}" ` +
        `version="${version}" entity="${entity}">\n`,
      batch: (records) => records.map(recordXml).join(''),
      end: () => '</export>\n',
    };
  },
};

const XSD_TYPE: Record<FieldType, string> = {
  string: 'xs:string',
  integer: 'xs:integer',
  number: 'xs:double',
  boolean: 'xs:boolean',
  date: 'xs:date',
  timestamp: 'xs:dateTime',
  codes: 'Codes',
  identifiers: 'Identifiers',
};

/** Any subset of an entity's fields, in any order: xs:all of optional elements. */
function recordType(
  name: string,
  fields: readonly { name: string; type: FieldType; description: string }[],
  extra = '',
) {
  const elements = fields
    .map(
      (f) =>
        `      <xs:element name="${f.name}" type="${XSD_TYPE[f.type]}" minOccurs="0">` +
        `<xs:annotation><xs:documentation>${escape(f.description)}</xs:documentation></xs:annotation></xs:element>`,
    )
    .join('\n');
  return `  <xs:complexType name="${name}">\n    <xs:all>\n${elements}${extra}\n    </xs:all>\n  </xs:complexType>`;
}

/** The XSD every XML export validates against. */
export function exportXsd(): string {
  return `<?xml version="1.0" encoding="UTF-8"?>
<xs:schema xmlns:xs="http://www.w3.org/2001/XMLSchema" targetNamespace="${XML_NAMESPACE}"
  xmlns="${XML_NAMESPACE}" elementFormDefault="qualified">
  <xs:annotation><xs:documentation>SP Exchange data export (SR-022). Every field element is optional: an
  export holds the fields its definition selects and the caller may receive; an empty value is left out.</xs:documentation></xs:annotation>
  <xs:element name="export">
    <xs:complexType>
      <xs:choice minOccurs="0" maxOccurs="unbounded">
        <xs:element name="household" type="Household"/>
        <xs:element name="individual" type="Individual"/>
        <xs:element name="member" type="Member"/>
      </xs:choice>
      <xs:attribute name="definition" type="xs:string" use="required"/>
      <xs:attribute name="version" type="xs:positiveInteger" use="required"/>
      <xs:attribute name="entity" use="required">
        <xs:simpleType>
          <xs:restriction base="xs:string">
            <xs:enumeration value="households"/>
            <xs:enumeration value="individuals"/>
            <xs:enumeration value="household_members"/>
          </xs:restriction>
        </xs:simpleType>
      </xs:attribute>
    </xs:complexType>
  </xs:element>
${recordType('Household', HOUSEHOLD_FIELDS, '\n      <xs:element name="members" type="Members" minOccurs="0"/>')}
${recordType('Individual', INDIVIDUAL_FIELDS)}
${recordType('Member', MEMBER_FIELDS)}
  <xs:complexType name="Members">
    <xs:sequence>
      <xs:element name="individual" type="Individual" minOccurs="0" maxOccurs="unbounded"/>
    </xs:sequence>
  </xs:complexType>
  <xs:complexType name="Codes">
    <xs:sequence>
      <xs:element name="code" type="xs:string" minOccurs="0" maxOccurs="unbounded"/>
    </xs:sequence>
  </xs:complexType>
  <xs:complexType name="Identifiers">
    <xs:sequence>
      <xs:element name="identifier" minOccurs="0" maxOccurs="unbounded">
        <xs:complexType>
          <xs:simpleContent>
            <xs:extension base="xs:string">
              <xs:attribute name="type" type="xs:string" use="required"/>
            </xs:extension>
          </xs:simpleContent>
        </xs:complexType>
      </xs:element>
    </xs:sequence>
  </xs:complexType>
</xs:schema>
`;
}
