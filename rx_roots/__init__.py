"""rx_roots: pure NIP-01 functions for envelopes, events, filters and kinds.

No I/O, no time, no reactivex.
"""

from __future__ import annotations

from rx_roots.backoff import backoff_delays
from rx_roots.elements import (
    Envelope,
    check_array_length,
    check_label,
    decode_array,
    parse_element,
)
from rx_roots.enclose import (
    JsonObject,
    enclose_auth_challenge,
    enclose_auth_response,
    enclose_close,
    enclose_closed,
    enclose_eose,
    enclose_event,
    enclose_notice,
    enclose_ok,
    enclose_req,
    enclose_subscription_event,
)
from rx_roots.errors import (
    InvalidEnvelope,
    InvalidEvent,
    InvalidFilter,
    InvalidJSON,
    InvalidRelayURL,
    MissingField,
    RootsError,
    WrongEnvelopeLabel,
    WrongFieldType,
)
from rx_roots.events import (
    check_event,
    check_event_shape,
    compute_event_id,
    is_valid_event_id,
    readable_id,
    serialize_for_id,
)
from rx_roots.filters import (
    Filter,
    check_filter,
    matches,
    matches_any,
    newest_first,
    select,
    sort_key,
)
from rx_roots.find import (
    find_auth_challenge,
    find_auth_response,
    find_close,
    find_closed,
    find_eose,
    find_event,
    find_notice,
    find_ok,
    find_req,
    find_subscription_event,
)
from rx_roots.kinds import address_of, is_addressable, is_ephemeral, is_replaceable
from rx_roots.labels import get_label, is_standard_label, standard_labels
from rx_roots.reasons import REASON_PREFIXES, classify_reason
from rx_roots.status import ConnectionStatus
from rx_roots.urls import normalize_relay_url

__all__ = [
    "REASON_PREFIXES",
    "ConnectionStatus",
    "Envelope",
    "Filter",
    "InvalidEnvelope",
    "InvalidEvent",
    "InvalidFilter",
    "InvalidJSON",
    "InvalidRelayURL",
    "JsonObject",
    "MissingField",
    "RootsError",
    "WrongEnvelopeLabel",
    "WrongFieldType",
    "address_of",
    "backoff_delays",
    "check_array_length",
    "check_event",
    "check_event_shape",
    "check_filter",
    "check_label",
    "classify_reason",
    "compute_event_id",
    "decode_array",
    "enclose_auth_challenge",
    "enclose_auth_response",
    "enclose_close",
    "enclose_closed",
    "enclose_eose",
    "enclose_event",
    "enclose_notice",
    "enclose_ok",
    "enclose_req",
    "enclose_subscription_event",
    "find_auth_challenge",
    "find_auth_response",
    "find_close",
    "find_closed",
    "find_eose",
    "find_event",
    "find_notice",
    "find_ok",
    "find_req",
    "find_subscription_event",
    "get_label",
    "is_addressable",
    "is_ephemeral",
    "is_replaceable",
    "is_standard_label",
    "is_valid_event_id",
    "matches",
    "matches_any",
    "newest_first",
    "normalize_relay_url",
    "parse_element",
    "readable_id",
    "select",
    "serialize_for_id",
    "sort_key",
    "standard_labels",
]
