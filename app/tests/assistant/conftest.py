"""Fixtures of the assistant's tests."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from assistant import providers
from tests.assistant.chat_completions_server import ChatCompletionsServer


@pytest.fixture
def llm(settings) -> Iterator[ChatCompletionsServer]:
    """The openai provider, pointed at a local chat-completions server the test scripts."""
    with ChatCompletionsServer() as server:
        settings.LLM_PROVIDER = "openai"
        settings.OPENAI_BASE_URL = server.base_url
        settings.OPENAI_API_KEY = "sk-test"
        settings.OPENAI_MODEL = "test-model"
        settings.OPENAI_TIMEOUT = 5
        settings.OPENAI_MAX_RETRIES = 0
        providers._provider.cache_clear()
        yield server
        providers._provider.cache_clear()
