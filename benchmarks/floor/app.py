"""The floor's two views and its URLs; `benchmarks.floor.app:application` is the ASGI app."""

from __future__ import annotations

import json
import os
from collections.abc import AsyncIterator

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "benchmarks.floor.settings")

from django.conf import settings
from django.core.asgi import get_asgi_application
from django.http import HttpRequest, HttpResponse, StreamingHttpResponse
from django.urls import path
from django.views.decorators.csrf import csrf_exempt
from openai import AsyncOpenAI

SERVICES = json.dumps(
    {"services": [{"id": i, "name": f"Service {i}", "price": "100.00"} for i in range(40)]}
).encode()
_client: AsyncOpenAI | None = None


def client() -> AsyncOpenAI:
    global _client
    if _client is None:  # built in the worker's event loop, not at import
        _client = AsyncOpenAI(base_url=settings.FLOOR_UPSTREAM, api_key="sk-floor", max_retries=0)
    return _client


@csrf_exempt
async def chat(request: HttpRequest) -> StreamingHttpResponse:
    messages = json.loads(request.body)["messages"]

    async def events() -> AsyncIterator[bytes]:
        stream = await client().chat.completions.create(
            model="floor", messages=messages, stream=True
        )
        async for chunk in stream:
            yield b"data: " + chunk.model_dump_json(exclude_unset=True).encode() + b"\n\n"
        yield b"data: [DONE]\n\n"

    return StreamingHttpResponse(events(), content_type="text/event-stream")


async def services(request: HttpRequest) -> HttpResponse:
    return HttpResponse(SERVICES, content_type="application/json")


urlpatterns = [
    path("v1/chat/completions", chat),
    path("api/v1/services", services),
]
application = get_asgi_application()
