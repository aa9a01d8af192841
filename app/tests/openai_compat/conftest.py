"""The app under gunicorn, talked to by real clients (the official openai SDK, httpx)."""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator

import jsonschema
import openai
import pytest

from testsupport.live_server import GunicornApp

# Per key and minute: high enough for every test of a module, low enough to reach in a test.
KEY_LIMIT_PER_MINUTE = 60


@pytest.fixture(scope="module")
def live_app(tmp_path_factory, redis_server) -> Iterator[tuple[GunicornApp, str]]:
    """The app with the built-in catalog provider, and the demo company's key."""
    if redis_server.process is None:
        redis_server.start()
    app = GunicornApp(
        tmp_path_factory.mktemp("openai-compat"),
        redis_url=redis_server.url,
        extra_env={"WAZEN_RATE_LIMIT_KEY_PER_MINUTE": str(KEY_LIMIT_PER_MINUTE)},
    ).start()
    try:
        yield app, app.seed_demo_key()
    finally:
        app.stop()


def sdk(app: GunicornApp, key: str) -> openai.OpenAI:
    """The official client, configured as an integrator would: base URL and key only."""
    return openai.OpenAI(base_url=app.url("/v1"), api_key=key, max_retries=0)


class Document:
    """The served OpenAPI document, as a validator of real responses."""

    def __init__(self, document: dict) -> None:
        self.document = document

    def validate(self, schema_name: str, instance: object) -> None:
        root = {"$ref": f"#/components/schemas/{schema_name}", **self.document}
        jsonschema.Draft202012Validator(root).validate(instance)

    def response_schema(self, path: str, method: str, status: int, media: str) -> str:
        response = self.document["paths"][path][method]["responses"][str(status)]
        return response["content"][media]["schema"]["$ref"].rsplit("/", 1)[1]

    def check(self, path: str, method: str, status: int, body: bytes | str) -> dict:
        """The body of a real response, validated against what the document promises."""
        data = json.loads(body)
        self.validate(self.response_schema(path, method, status, "application/json"), data)
        return data


def sse_events(lines: Iterable[str]) -> Iterator[dict | str]:
    """`data:` payloads of an event stream as they arrive, decoded ("[DONE]" kept as text)."""
    for line in lines:
        if line.startswith("data: "):
            payload = line.removeprefix("data: ")
            yield payload if payload == "[DONE]" else json.loads(payload)
