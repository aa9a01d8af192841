"""Error answers of the production front (nginx → gunicorn → Django, the image as the chart runs
it) for requests that never reach a view: nothing under /api/ or /v1/ answers HTML, at any layer.

Under /api/ an error has the API's shape, `{"error": {"code", "message"}}`; under /v1/ (the
OpenAI-compatible API) OpenAI's, `{"error": {"message", "type", "param", "code"}}`, exactly as
app/api/errors.py builds them (the expected bodies come from its `error_body`). Errors the app
itself answers (400, 404, 413 …) pass through the front untouched.

Malformed requests are sent as raw bytes: no HTTP client library sends them.
"""

from __future__ import annotations

import json

import pytest

from api.errors import error_body
from testsupport.rawhttp import send_raw

pytestmark = pytest.mark.container

PREFIXES = {"api": b"/api/v1/services", "openai": b"/v1/models"}


def assert_json_error(got: tuple[int, str, bytes], status: int, code: str | None, api: str) -> dict:
    """The answer is JSON in the shape of the path's API (and `code`, when given)."""
    got_status, content_type, body = got
    assert got_status == status, body[:500]
    assert content_type.startswith("application/json"), (content_type, body[:500])
    error = json.loads(body)["error"]
    if code is not None:
        assert error["code"] == code, error
    expected = error_body(status, error["code"], error["message"], openai=api == "openai")
    assert json.loads(body) == expected  # same fields, same `type` for the status, param null
    assert error["message"]
    return error


def request(path: bytes, *, method: bytes = b"GET", version: bytes = b"HTTP/1.1",
            headers: bytes = b"") -> bytes:  # fmt: skip
    return (
        method + b" " + path + b" " + version + b"\r\nHost: 127.0.0.1\r\n" + headers
        + b"Connection: close\r\n\r\n"
    )  # fmt: skip


def many_headers(count: int) -> bytes:
    return b"".join(b"X-Extra-%d: v\r\n" % n for n in range(count))


# -- refusals of the front, in the shape of the path's API -----------------------------------


@pytest.mark.parametrize("api", PREFIXES)
@pytest.mark.parametrize(
    ("name", "status", "code"),
    [
        ("invalid-utf8-path", 400, "bad_request"),
        ("control-byte-in-header", 400, "bad_request"),
        ("trace", 405, "method_not_allowed"),
        ("http-9.9", 505, "http_version_not_supported"),
        ("long-request-line", 414, "uri_too_long"),
        ("huge-header", 400, "bad_request"),
        ("header-block-over-32k", 400, "bad_request"),
        ("huge-declared-body", 413, "body_too_large"),
    ],
)  # fmt: skip
def test_front_refusals_are_json_in_the_shape_of_the_paths_api(app, api, name, status, code):
    path = PREFIXES[api]
    data = {
        "invalid-utf8-path": request(path + b"/\xff\xfe\xc3("),
        "control-byte-in-header": request(path, headers=b"X-Odd: a\x01b\r\n"),
        "trace": request(path, method=b"TRACE"),
        "http-9.9": request(path, version=b"HTTP/9.9"),
        "long-request-line": request(path + b"?q=" + b"x" * 9000),
        "huge-header": request(path, headers=b"X-Big: " + b"y" * 9000 + b"\r\n"),
        "header-block-over-32k": request(path, headers=many_headers(3000)),
        "huge-declared-body": request(
            path, method=b"POST", headers=b"Content-Type: application/json\r\n"
            b"Content-Length: 5000000\r\n"
        ) + b"{",
    }[name]  # fmt: skip
    assert_json_error(send_raw(app.port, data), status, code, api)


@pytest.mark.parametrize("api", PREFIXES)
def test_more_than_100_headers_never_get_gunicorns_html(app, demo_key, api):
    """gunicorn's default limit is 100 header fields (431, HTML); behind the front nginx bounds
    the header block (4 x 8 KiB), and a request within it reaches the app."""
    headers = f"Authorization: Bearer {demo_key}\r\n".encode() + many_headers(150)
    status, content_type, body = send_raw(app.port, request(PREFIXES[api], headers=headers))
    assert status == 200, body[:500]
    assert content_type.startswith("application/json")


@pytest.mark.parametrize("api", PREFIXES)
def test_request_line_over_gunicorns_4k_limit_reaches_the_app(app, demo_key, api):
    """gunicorn's default request-line limit (4094 bytes, 414 in HTML) is below nginx's 8 KiB:
    behind the front nginx's limit is the only one."""
    headers = f"Authorization: Bearer {demo_key}\r\n".encode()
    path = PREFIXES[api] + b"?q=" + b"x" * 6000
    status, content_type, body = send_raw(app.port, request(path, headers=headers))
    assert status == 200, body[:500]
    assert content_type.startswith("application/json")


# -- the app's own errors pass through -------------------------------------------------------


def test_the_apps_own_json_errors_pass_the_front_untouched(app, demo_key):
    auth = f"Authorization: Bearer {demo_key}\r\n".encode()
    got = send_raw(app.port, request(b"/api/v1/nowhere"))
    error = assert_json_error(got, 404, "not_found", "api")
    assert error["message"] == "No API endpoint at /api/v1/nowhere."
    got = send_raw(app.port, request(b"/v1/nowhere"))
    assert_json_error(got, 404, "not_found", "openai")
    json_post = auth + b"Content-Type: application/json\r\n"
    got = send_raw(
        app.port,
        request(b"/api/v1/chat", method=b"POST", headers=json_post + b"Content-Length: 5\r\n")
        + b"{oops",
    )
    assert_json_error(got, 400, "malformed_json", "api")
    body = b'{"message": "' + b"a" * 100_000 + b'"}'
    got = send_raw(
        app.port,
        request(b"/api/v1/chat", method=b"POST",
                headers=json_post + b"Content-Length: %d\r\n" % len(body)) + body,
    )  # fmt: skip
    error = assert_json_error(got, 413, "body_too_large", "api")
    assert error["message"].startswith("The body exceeds ")  # the app's message, not nginx's
    got = send_raw(app.port, request(b"/v1/models", headers=b"Authorization: Bearer nope\r\n"))
    assert_json_error(got, 401, "invalid_api_key", "openai")
