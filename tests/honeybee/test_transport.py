"""Tests for rx_honeybee.transport.classify_dial_error on the exceptions aiohttp really raises."""

from __future__ import annotations

import errno
import socket

import aiohttp
import pytest
from aiohttp.client_reqrep import ConnectionKey, RequestInfo
from multidict import CIMultiDict, CIMultiDictProxy
from yarl import URL

from rx_honeybee.errors import ConnectionFailed, ConnectionTimeout
from rx_honeybee.transport import classify_dial_error

RELAY = "wss://relay.example.com"


def connection_key() -> ConnectionKey:
    return ConnectionKey(
        host="relay.example.com",
        port=443,
        is_ssl=True,
        ssl=True,
        proxy=None,
        proxy_auth=None,
        proxy_headers_hash=None,
    )


def request_info() -> RequestInfo:
    url = URL("https://relay.example.com/")
    return RequestInfo(url, "GET", CIMultiDictProxy(CIMultiDict()), url)


def refused() -> aiohttp.ClientConnectorError:
    os_error = ConnectionRefusedError(errno.ECONNREFUSED, "Connect call failed")
    return aiohttp.ClientConnectorError(connection_key(), os_error)


def test_a_refused_tcp_connection_is_refused() -> None:
    failure = classify_dial_error(RELAY, refused())
    assert type(failure) is ConnectionFailed
    assert (failure.url, failure.category, failure.status) == (RELAY, "refused", None)
    assert "Cannot connect to host relay.example.com:443" in str(failure)


def test_refusals_on_every_address_of_a_host_are_refused() -> None:
    # aiohappyeyeballs folds same-errno failures (::1 and 127.0.0.1) into OSError(errno, ...),
    # which Python turns into a ConnectionRefusedError
    os_error = OSError(errno.ECONNREFUSED, "Multiple exceptions: [Errno 111] ..., [Errno 111] ...")
    exc = aiohttp.ClientConnectorError(connection_key(), os_error)
    assert classify_dial_error(RELAY, exc).category == "refused"


def test_a_dns_failure_is_dns() -> None:
    os_error = socket.gaierror(socket.EAI_NONAME, "Name or service not known")
    failure = classify_dial_error(
        RELAY, aiohttp.ClientConnectorDNSError(connection_key(), os_error)
    )
    assert type(failure) is ConnectionFailed
    assert (failure.category, failure.status) == ("dns", None)
    assert "Name or service not known" in str(failure)


def test_a_dns_failure_wrapping_a_refusal_is_still_dns() -> None:
    # ClientConnectorDNSError is a ClientConnectorError: the DNS check must win
    os_error = ConnectionRefusedError(errno.ECONNREFUSED, "odd resolver")
    exc = aiohttp.ClientConnectorDNSError(connection_key(), os_error)
    assert classify_dial_error(RELAY, exc).category == "dns"


def test_a_connector_error_that_is_not_a_refusal_is_network() -> None:
    os_error = OSError(errno.ENETUNREACH, "Network is unreachable")
    failure = classify_dial_error(RELAY, aiohttp.ClientConnectorError(connection_key(), os_error))
    assert failure.category == "network"
    assert "ClientConnectorError" in str(failure)


def test_a_refused_websocket_handshake_is_handshake_with_its_status() -> None:
    exc = aiohttp.WSServerHandshakeError(
        request_info(), (), message="Invalid response status", status=403
    )
    failure = classify_dial_error(RELAY, exc)
    assert type(failure) is ConnectionFailed
    assert (failure.category, failure.status) == ("handshake", 403)
    assert str(failure).endswith("(handshake): Invalid response status")


def test_an_http_error_response_is_handshake_with_its_status() -> None:
    exc = aiohttp.ClientResponseError(request_info(), (), status=502, message="Bad Gateway")
    failure = classify_dial_error(RELAY, exc)
    assert (failure.category, failure.status) == ("handshake", 502)
    assert "Bad Gateway" in str(failure)


@pytest.mark.parametrize(
    "exc",
    [
        TimeoutError(),
        TimeoutError("dial timed out"),
        aiohttp.ServerTimeoutError("Timeout on reading data from socket"),
        aiohttp.ConnectionTimeoutError("Connection timeout to host"),
    ],
    ids=["TimeoutError", "TimeoutError-message", "ServerTimeoutError", "ConnectionTimeoutError"],
)
def test_timeouts_are_connection_timeouts(exc: BaseException) -> None:
    failure = classify_dial_error(RELAY, exc)
    assert isinstance(failure, ConnectionTimeout)
    assert isinstance(failure, TimeoutError)
    assert (failure.url, failure.category, failure.status) == (RELAY, "timeout", None)


def test_a_timeout_without_a_message_names_its_type() -> None:
    assert str(classify_dial_error(RELAY, TimeoutError())).endswith("(timeout): TimeoutError")


@pytest.mark.parametrize(
    "exc",
    [
        OSError(errno.EHOSTUNREACH, "No route to host"),
        ConnectionResetError(errno.ECONNRESET, "Connection reset by peer"),
        aiohttp.ServerDisconnectedError(),
        aiohttp.ClientOSError(errno.EPIPE, "Broken pipe"),
    ],
    ids=["OSError", "ConnectionResetError", "ServerDisconnectedError", "ClientOSError"],
)
def test_other_failures_are_network(exc: BaseException) -> None:
    failure = classify_dial_error(RELAY, exc)
    assert type(failure) is ConnectionFailed
    assert (failure.category, failure.status) == ("network", None)
    assert type(exc).__name__ in str(failure)


def test_an_invalid_url_is_invalid_url() -> None:
    failure = classify_dial_error(RELAY, aiohttp.InvalidURL("ws//nope"))
    assert failure.category == "invalid-url"


def test_the_result_is_returned_not_raised_and_keeps_the_url() -> None:
    url = "ws://127.0.0.1:1"
    failure = classify_dial_error(url, refused())
    assert isinstance(failure, ConnectionError)
    assert failure.url == url
    assert url in str(failure)
