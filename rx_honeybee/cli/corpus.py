"""The demo corpus's authors and a ``Restamper`` that re-signs corpus events with today's time.

The shipped corpus (``rx_honeybee/data/corpus.jsonl``, written by ``scripts/make_corpus.py``)
is dated March 2024. A client resuming a subscription after a dropped socket asks only for
events from shortly before the drop on (``since``), like any live client, so a 2024 event
published during the demo's outage is rightly never replayed. The demo therefore behaves
like a real client: it re-signs each event right before publishing it, stamped with the
current time, by the same made-up authors. Their secret keys are derived here from a public
seed, and ``scripts/make_corpus.py`` takes them from here, so the two cannot drift apart.

Re-signing changes ids, so references (the ``e`` tags of replies and reactions) are
rewritten to the new ids of the events already restamped.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Mapping
from typing import Any

from rx_honeybee.verify import sign_event

__all__ = ["HANDLES", "SEED", "Restamper", "author_keys", "secret_key"]

SEED = "rxnostr demo corpus v1"
HANDLES = ("ada", "bruno", "chiyo", "dmitri", "elodie")  # the corpus's five authors


def secret_key(handle: str) -> str:
    """An author's secret key: sha256 of the seed and the handle, as hex."""
    return hashlib.sha256(f"{SEED}/{handle}".encode()).hexdigest()


def author_keys() -> dict[str, str]:
    """Every corpus author's x-only public key → secret key, as hex (needs coincurve)."""
    from coincurve import PrivateKey

    keys: dict[str, str] = {}
    for handle in HANDLES:
        secret = secret_key(handle)
        keys[PrivateKey(bytes.fromhex(secret)).public_key_xonly.format().hex()] = secret
    return keys


class Restamper:
    """Re-signs events with a new ``created_at``, keeping references between them right.

    Args:
        keys: public key → secret key of every author to re-sign for (``author_keys()``).
    """

    def __init__(self, keys: Mapping[str, str]) -> None:
        self._keys = dict(keys)
        self.ids: dict[str, str] = {}  # old id → id of its restamped copy
        self._issued: set[str] = set()

    def restamp(self, events: Iterable[Mapping[str, Any]], now: int) -> list[dict[str, Any]]:
        """Copies of ``events``, in order, with ``created_at`` = ``now``, re-signed.

        Any tag value that is the id of an event restamped before (by this call or an
        earlier one) becomes the new id. Same author, kind, tags and content at the same
        second make the same id, and a relay takes the second copy for a duplicate: the
        corpus has a few notes that differ only by date, so such a copy is stamped one
        second earlier (or more, until its id is new).

        Raises:
            KeyError: an event's author is not among ``keys``.
        """
        restamped: list[dict[str, Any]] = []
        for event in events:
            tags = [[self.ids.get(value, value) for value in tag] for tag in event["tags"]]
            created_at = now
            while True:
                template = {**event, "created_at": created_at, "tags": tags}
                copy = sign_event(template, self._keys[template["pubkey"]])
                if copy["id"] not in self._issued:
                    break
                created_at -= 1
            self._issued.add(copy["id"])
            self.ids[event["id"]] = copy["id"]
            restamped.append(copy)
        return restamped
