"""The README's example of marble-testing your own pipeline with the kit, as written."""

# --- README snippet begins -----------------------------------------------------------------
import json

import pytest
from reactivex import operators as ops
from reactivex.testing import ReactiveTest

from rx_honeybee import ConnectionClosed
from rx_honeybee.testing import MarbleHarness


def shouted_notices(messages):  # your pipeline: NOTICE texts, upper-cased
    return messages.pipe(
        ops.map(json.loads),
        ops.filter(lambda envelope: envelope[0] == "NOTICE"),
        ops.map(lambda envelope: envelope[1].upper()),
    )


@pytest.mark.asyncio
async def test_notices_survive_a_reconnect():
    h = MarbleHarness(  # "o" opens the socket; one character = one unit of virtual time
        lambda link: ["-o-n-e-#", "-o-n"],  # a drop at 7, a redial at 8
        lookup={"n": '["NOTICE","hi"]', "e": '["EOSE","s"]'},
        error=ConnectionClosed("ws://relay", 1006),
    )
    seen = h.scheduler.create_observer()
    shouted_notices(h.conn.messages).subscribe(seen)
    await h.start()  # dialled at 0, CONNECTED at 1
    h.conn.send('["REQ","s",{}]')
    await h.run_until(20)
    assert seen.messages == [ReactiveTest.on_next(3, "HI"), ReactiveTest.on_next(11, "HI")]
    assert h.sockets.dialled == [0.0, 8.0] and h.link.labels() == [(1.0, "REQ")]
    await h.conn.close()


# --- README snippet ends -------------------------------------------------------------------


def test_the_readme_shows_this_snippet() -> None:
    """The README's kit example is this file's snippet, character for character."""
    from pathlib import Path

    here = Path(__file__).read_text()
    begin = here.index("\n", here.index("# --- README snippet begins")) + 1
    snippet = here[begin : here.index("# --- README snippet ends")].strip("\n")
    readme = (Path(__file__).resolve().parents[2] / "README.md").read_text()
    assert snippet in readme
