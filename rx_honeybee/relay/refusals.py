"""The answer to an envelope the relay's rate limit refuses: never silence.

A REQ gets ``CLOSED <id> rate-limited:``, an EVENT or AUTH ``OK <id> false rate-limited:``
(so a client waiting for its OK or EOSE learns at once and slows down); what names no
readable id gets a ``NOTICE``. Before, refusals were dropped and ~1,400 of 7,000
publishes timed out (issue 12, item 8).
"""

from __future__ import annotations

from rx_honeybee.relay.canonical import encodable
from rx_honeybee.relay.clients import Client
from rx_roots import RootsError, find_auth_response, find_event, find_req, readable_id

__all__ = ["answer_rate_limited"]

_REASON = "rate-limited: slow down"


def answer_rate_limited(client: Client, label: str, env: str) -> None:
    """Tell ``client`` that ``env`` (labelled ``label``) was refused by the rate limit."""
    try:
        if label == "REQ":
            sub_id = find_req(env)[0]
            if encodable(sub_id):
                client.closed(sub_id, _REASON)
                return
        elif label in ("EVENT", "AUTH"):
            event_id = readable_id(find_event(env) if label == "EVENT" else find_auth_response(env))
            if event_id is not None and encodable(event_id):
                client.ok(event_id, False, _REASON)
                return
    except RootsError:
        pass
    client.notice(_REASON)
