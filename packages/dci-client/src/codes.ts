/**
 * DCI status and error codes, exactly as the spec files enumerate them (spdci/api-standards v1.0.0,
 * SR and IBR). Typed here so that the compiler checks every use, in this client and in the SP Exchange
 * gateway; the gateway's tests assert that they equal the spec's enums, so a spec update that changes
 * them fails its build rather than drifting.
 */

/** `components.schemas.Error.properties.code`: transport errors, the message cannot be processed. */
export const TRANSPORT_ERROR_CODES = [
  'err.request.bad',
  'err.request.unauthorized',
  'err.request.forbidden',
  'err.request.not_found',
  'err.request.timeout',
  'err.version.not_supported',
  'err.request.too_many_requests',
  'err.sender_id.invalid',
  'err.sender_uri.invalid',
  'err.receiver_id.invalid',
  'err.signature.missing',
  'err.signature.invalid',
  'err.encryption.invalid',
  'err.service.unavailable',
] as const;
export type TransportErrorCode = (typeof TRANSPORT_ERROR_CODES)[number];

/** `MsgHeaderStatusReasonCode`: the whole message was read and rejected (header `status: rjct`). */
export const HEADER_REASON_CODES = [
  'rjct.version.invalid',
  'rjct.message_id.duplicate',
  'rjct.message_ts.invalid',
  'rjct.action.invalid',
  'rjct.action.not_supported',
  'rjct.total_count.invalid',
  'rjct.total_count.limit_exceeded',
  'rjct.errors.too_many',
] as const;
export type HeaderReasonCode = (typeof HEADER_REASON_CODES)[number];

/** `SearchStatusReasonCode` (SR and IBR): one `search_request` item was rejected. */
export const SEARCH_REASON_CODES = [
  'rjct.reference_id.invalid',
  'rjct.reference_id.duplicate',
  'rjct.timestamp.invalid',
  'rjct.search_criteria.invalid',
  'rjct.filter.invalid',
  'rjct.sort.invalid',
  'rjct.pagination.invalid',
  'rjct.search.too_many_records_found',
] as const;
export type SearchReasonCode = (typeof SEARCH_REASON_CODES)[number];

/** `SubscribeStatusReasonCode` (SR and IBR): one `subscribe_request` item was rejected. */
export const SUBSCRIBE_REASON_CODES = [
  'rjct.reference_id.invalid',
  'rjct.reference_id.duplicate',
  'rjct.timestamp.invalid',
  'rjct.notify_types.invalid',
  'rjct.notify_details.invalid',
  'rjct.person_id.invalid',
  'rjct.event.already_subscribed',
] as const;
export type SubscribeReasonCode = (typeof SUBSCRIBE_REASON_CODES)[number];

/** `UnSubscribeStatusReasonCode` (SR and IBR): an unsubscribe message was rejected. */
export const UNSUBSCRIBE_REASON_CODES = [
  'rjct.reference_id.invalid',
  'rjct.reference_id.duplicate',
  'rjct.timestamp.invalid',
  'rjct.subscription_code.invalid',
  'rjct.requester.invalid',
  'rjct.event.already_unsubscribed',
] as const;
export type UnsubscribeReasonCode = (typeof UNSUBSCRIBE_REASON_CODES)[number];

export type DciCode =
  TransportErrorCode | HeaderReasonCode | SearchReasonCode | SubscribeReasonCode | UnsubscribeReasonCode;

/** Request (item or message) status, `UnSubscribeResponse.properties.status` in the spec. */
export type DciStatus = 'rcvd' | 'pdng' | 'succ' | 'rjct';
