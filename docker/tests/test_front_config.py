"""nginx's own error bodies (docker/nginx.conf.template) are app/api/errors.py's, for each API.

Read from the template, no container: every status nginx maps with `error_page` has a page for the
/api/ shape and one for OpenAI's, and each page's body is exactly what `error_body` builds for its
status and code (docker/tests/test_front_errors.py sends the requests through the image).
"""

from __future__ import annotations

import json
import re
from pathlib import Path

from api.errors import error_body

TEMPLATE = (Path(__file__).resolve().parents[1] / "nginx.conf.template").read_text()
PAGE = re.compile(r"location = /__front_error/(api|openai)/(\d+) \{ return (\d+) '(.*)\\n'; \}")


def pages() -> dict[tuple[str, int], tuple[int, dict]]:
    return {
        (api, int(page)): (int(status), json.loads(body))
        for api, page, status, body in PAGE.findall(TEMPLATE)
    }


def test_every_error_page_exists_in_both_shapes() -> None:
    mapped = re.findall(r"error_page ([\d ]+) /__front_error/\$front_api/(\d+);", TEMPLATE)
    assert mapped
    found = pages()
    for _statuses, page in mapped:
        for api in ("api", "openai"):
            assert (api, int(page)) in found, f"no page /__front_error/{api}/{page}"
    assert {int(s) for statuses, _ in mapped for s in statuses.split()} >= {
        400, 405, 408, 413, 414, 494, 500, 502, 504, 505,
    }  # fmt: skip


def test_error_pages_are_the_apps_error_bodies() -> None:
    found = pages()
    assert len(found) >= 18
    for (api, page), (status, body) in found.items():
        assert status == page
        error = body["error"]
        assert body == error_body(status, error["code"], error["message"], openai=api == "openai")
        assert re.fullmatch(r"[a-z_]+", error["code"])
