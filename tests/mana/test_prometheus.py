"""The Prometheus text exposition, checked by a strict parser of format 0.0.4."""

from __future__ import annotations

import math
import re

import pytest
from reactivex.subject import Subject
from reactivex.testing import TestScheduler

from rx_mana.prometheus import PoolStatistics, escape_label, prometheus
from rx_mana.statistics import ConnectionStatistics
from rx_roots import ConnectionStatus

_NAME = r"[a-zA-Z_:][a-zA-Z0-9_:]*"
_LABEL = r'([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\\n]|\\[\\"n])*)"'
_SAMPLE = re.compile(rf"^({_NAME})(?:\{{((?:{_LABEL})(?:,{_LABEL})*)\}})? (\S+)$")
_VALUE = re.compile(r"^(?:[+-]?(?:\d+\.?\d*(?:[eE][+-]?\d+)?|\.\d+)|NaN|[+-]Inf)$")

Samples = dict[str, list[tuple[dict[str, str], float]]]


def _unescape(value: str) -> str:
    return re.sub(r"\\(.)", lambda m: "\n" if m.group(1) == "n" else m.group(1), value)


def parse(text: str) -> tuple[dict[str, str], Samples]:
    """Parse the exposition strictly: types first, one HELP/TYPE per name, valid lines only."""
    assert text.endswith("\n")
    types: dict[str, str] = {}
    helps: set[str] = set()
    samples: Samples = {}
    for line in text[:-1].split("\n"):
        if line.startswith("# HELP "):
            name = line.split(" ", 3)[2]
            assert re.fullmatch(_NAME, name) and name not in helps, line
            helps.add(name)
        elif line.startswith("# TYPE "):
            _, _, name, kind = line.split(" ")
            assert kind in {"counter", "gauge", "summary", "histogram", "untyped"}, line
            assert name not in types and name not in samples, line
            types[name] = kind
        else:
            match = _SAMPLE.match(line)
            assert match, f"bad sample line: {line!r}"
            name, body, value = match.group(1), match.group(2), match.group(match.lastindex or 0)
            assert name in types, f"sample before its TYPE: {line}"
            assert _VALUE.match(value), line
            labels = {k: _unescape(v) for k, v in re.findall(_LABEL, body or "")}
            samples.setdefault(name, []).append((labels, float(value)))
    return types, samples


def filled(scheduler: TestScheduler) -> ConnectionStatistics:
    stats = ConnectionStatistics(scheduler=scheduler)
    stats.record_status(ConnectionStatus.CONNECTED)
    stats.record_sent('["REQ","s",{}]')
    stats.record_received('["EVENT","s",{}]')
    stats.record_received('["EOSE","s"]')
    stats.record_error(ValueError("x"))
    stats.record_latency(0.02)
    return stats


def value(samples: Samples, name: str, **labels: str) -> float:
    found = [v for got, v in samples[name] if all(got.get(k) == x for k, x in labels.items())]
    assert len(found) == 1, (name, labels, samples.get(name))
    return found[0]


def test_every_relay_s_numbers_are_labelled_and_parse() -> None:
    scheduler = TestScheduler()
    odd = 'ws://odd"relay\\path\nx'
    text = prometheus({"ws://a": filled(scheduler), odd: ConnectionStatistics(scheduler=scheduler)})
    scheduler.advance_to(0)
    types, samples = parse(text)
    assert types["rxnostr_messages_total"] == "counter"
    assert types["rxnostr_quality"] == "gauge"
    assert {labels["relay"] for s in samples.values() for labels, _ in s} == {"ws://a", odd}
    assert value(samples, "rxnostr_messages_total", relay="ws://a", direction="sent") == 1
    assert value(samples, "rxnostr_messages_total", relay="ws://a", direction="received") == 2
    assert value(samples, "rxnostr_messages_by_label_total", relay="ws://a", label="EOSE") == 1
    assert value(samples, "rxnostr_bytes_total", relay="ws://a", direction="sent") == 14
    assert value(samples, "rxnostr_errors_total", relay="ws://a") == 1
    assert value(samples, "rxnostr_reconnections_total", relay=odd) == 0
    assert value(samples, "rxnostr_message_rate", relay="ws://a", window="1m") == pytest.approx(
        3 / 60
    )
    assert value(samples, "rxnostr_error_rate", relay="ws://a", window="15m") == pytest.approx(
        1 / 900
    )
    assert value(samples, "rxnostr_latency_seconds", relay="ws://a", quantile="0.99") == 0.02
    assert value(samples, "rxnostr_quality", relay=odd, part="score") == 1.0
    assert value(samples, "rxnostr_uptime_seconds", relay="ws://a") == 0.0
    # no latency measured: no made-up percentile
    assert all(labels["relay"] != odd for labels, _ in samples["rxnostr_latency_seconds"])


def test_an_empty_pool_still_has_help_and_type_lines() -> None:
    types, samples = parse(prometheus({}))
    assert len(types) == 10 and samples == {}


def test_label_values_are_escaped() -> None:
    assert escape_label('a"b\\c\nd') == 'a\\"b\\\\c\\nd'


def test_the_parser_is_strict() -> None:
    with pytest.raises(AssertionError):
        parse('# TYPE x gauge\nx{relay="a"b"} 1\n')
    with pytest.raises(AssertionError):
        parse("x 1\n")  # no TYPE
    with pytest.raises(AssertionError):
        parse("# TYPE x gauge\nx one\n")


@pytest.mark.parametrize(
    ("number", "text"), [(float("nan"), "NaN"), (math.inf, "+Inf"), (-math.inf, "-Inf")]
)
def test_special_values(number: float, text: str) -> None:
    from rx_mana.prometheus import _number

    assert _number(number) == text


def test_pool_statistics_watch_report_and_dispose() -> None:
    scheduler = TestScheduler()
    pool = PoolStatistics(scheduler=scheduler)

    class Conn:
        url = "ws://ignored"

        def __init__(self) -> None:
            self.scheduler = None
            self.messages: Subject[str] = Subject()
            self.written: Subject[str] = Subject()
            self.errors: Subject[Exception] = Subject()
            self.latencies: Subject[float] = Subject()
            self.state: Subject[ConnectionStatus] = Subject()

    conn = Conn()
    pool.watch("ws://a", conn)
    conn.messages.on_next('["NOTICE","x"]')
    assert [r["url"] for r in pool.reports()] == ["ws://a"]
    assert pool.reports()[0]["messages"]["received"] == 1
    _, samples = parse(pool.exposition())
    assert value(samples, "rxnostr_messages_total", relay="ws://a", direction="received") == 1
    pool.dispose()
    conn.messages.on_next('["NOTICE","x"]')
    assert pool.reports()[0]["messages"]["received"] == 1
