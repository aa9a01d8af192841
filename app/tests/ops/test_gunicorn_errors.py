"""gunicorn's own refusals (docker/gunicorn.conf.py) are JSON errors, never its HTML page.

gunicorn answers a request its parser refuses itself, before Django. Here gunicorn runs alone on a
TCP port (as with WAZEN_BUFFERING_PROXY=false); the image's front (nginx on two unix sockets) is
tested through the container in docker/tests/test_front_errors.py.
"""

from __future__ import annotations

import http.client
import json
import socket

import pytest

from api.errors import error_body
from testsupport.live_server import GunicornApp

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def live_app(tmp_path_factory, redis_server):
    if redis_server.process is None:
        redis_server.start()
    app = GunicornApp(
        tmp_path_factory.mktemp("gunicorn"), redis_url=redis_server.url, workers=1
    ).start()
    yield app
    app.stop()


def raw(port: int, data: bytes) -> tuple[int, str, dict]:
    with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
        sock.sendall(data)
        response = http.client.HTTPResponse(sock)
        response.begin()
        body = response.read()
        content_type = response.getheader("Content-Type", "")
        assert content_type.startswith("application/json"), body[:300]
        return response.status, content_type, json.loads(body)


@pytest.mark.parametrize(
    ("target", "headers", "status", "code", "openai"),
    [
        (b"/api/v1/services", b"X-Odd: a\x01b\r\n", 400, "bad_request", False),
        (b"/api/v1/\xff\xfe", b"", 400, "bad_request", False),
        (b"/v1/models/\xff\xfe", b"", 400, "bad_request", True),
        (b"/api/v1/services", b"".join(b"X-%d: v\r\n" % n for n in range(150)), 431,
         "headers_too_large", False),
        (b"/api/v1/services?q=" + b"x" * 5000, b"", 414, "uri_too_long", False),
    ],
    ids=["control-byte-in-header", "non-ascii-path", "non-ascii-path-v1", "150-headers",
         "long-request-line"],
)  # fmt: skip
def test_gunicorns_refusals_are_json_errors(live_app, target, headers, status, code, openai):
    data = b"GET " + target + b" HTTP/1.1\r\nHost: 127.0.0.1\r\n" + headers + b"\r\n"
    got, _content_type, body = raw(live_app.port, data)
    assert got == status
    assert body["error"]["code"] == code
    assert body == error_body(status, code, body["error"]["message"], openai=openai)
