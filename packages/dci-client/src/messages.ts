import type { DciStatus, HeaderReasonCode, SearchReasonCode } from './codes.ts';

/**
 * The DCI message envelope `{ signature, header, message }` (spec: every request body, and the
 * `default` response of the sync endpoints), and the search messages this client writes and reads.
 * These types describe the wire format; the registry's validators are what enforce it.
 */

export const PROTOCOL_VERSION = '1.0.0';

/** `MsgHeader_V1.0.0`: the header of a request. */
export interface RequestHeader {
  version?: string;
  message_id: string;
  message_ts: string;
  action: string;
  sender_id: string;
  sender_uri?: string;
  receiver_id?: string;
  total_count: number;
  is_msg_encrypted?: boolean;
  meta?: Record<string, unknown>;
}

/** `MsgCallbackHeader_V1.0.0`: the header of a response, with the message's own status. */
export interface ResponseHeader {
  version: string;
  message_id: string;
  message_ts: string;
  action: string;
  status: DciStatus;
  status_reason_code?: HeaderReasonCode;
  status_reason_message?: string;
  total_count: number;
  completed_count: number;
  sender_id?: string;
  receiver_id?: string;
  is_msg_encrypted: boolean;
}

export interface Envelope<H, M> {
  /** Signature of header+message (signature/): verified on input, added to what is sent. */
  signature?: string;
  header: H;
  message?: M;
}

/** A DCI envelope: an object whose `header` is an object (the receiver's schema checks the rest). */
export function isEnvelope(
  value: unknown,
): value is { header: Record<string, unknown>; message?: unknown; signature?: unknown } {
  const header = (value as { header?: unknown } | null)?.header;
  return (
    typeof value === 'object' &&
    value !== null &&
    !Array.isArray(value) &&
    typeof header === 'object' &&
    header !== null &&
    !Array.isArray(header)
  );
}

/** A purpose stated the way DCI `consent` and `authorize` objects carry it. */
export interface StatedPurpose {
  '@type'?: string;
  ts?: string;
  purpose?: { code?: string; text?: string; ref_uri?: string };
}

/** `search_criteria` of a `search_request` item (SR and IBR `SearchRequest`), as a client writes it. */
export interface SearchCriteria {
  version?: string;
  reg_type?: string;
  /** `Group`, `Member` (SR), `Beneficiary` (IBR) ... */
  reg_record_type?: string;
  query_type: 'idtype-value' | 'expression' | 'predicate';
  /** `{ type, value }` for idtype-value; the spec's expression or predicate list otherwise. */
  query: unknown;
  response_entity?: string;
  sort?: { attribute_name: string; sort_order: 'asc' | 'desc' }[];
  pagination?: { page_size: number; page_number?: number };
  /** The purpose of the search; required by registries that answer with consented records only. */
  consent?: StatedPurpose;
  authorize?: StatedPurpose;
}

/** One item of a search answer: its status, and the records (`R`) found. */
export interface SearchResponseItem<R = Record<string, unknown>> {
  reference_id: string;
  timestamp: string;
  status: DciStatus;
  status_reason_code?: SearchReasonCode;
  status_reason_message?: string;
  data?: { version: string; reg_type: string; reg_record_type: string; reg_records: R[] };
  pagination?: { page_size: number; page_number: number; total_count: number };
  locale?: string;
}

export interface SearchResponseMessage<R = Record<string, unknown>> {
  transaction_id: string;
  correlation_id: string;
  search_response: SearchResponseItem<R>[];
}

/** The acknowledgement of an async request; the answer arrives later on the sender's URI. */
export interface Ack {
  message: { ack_status: 'ACK' | 'NACK' | 'ERR'; timestamp: string; correlation_id: string; error?: unknown };
}
