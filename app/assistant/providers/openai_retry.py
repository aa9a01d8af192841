"""The retry loop of the OpenAI provider, inside one reply budget.

The SDK's loop honours Retry-After up to two minutes per retry and bounds each socket operation,
not the reply: with 2 s timeouts and 2 retries a customer waited 10 s on a 429 and 20 s on a
dripping upstream. This loop owns every wait instead: each attempt gets min(OPENAI_TIMEOUT, what
is left), a retry happens only if its wait (Retry-After, else exponential back-off with jitter)
fits in what is left, and the socket-level clamp (deadline.py) ends any attempt when the budget is
spent. The worst case for a reply is therefore WAZEN_LLM_REPLY_DEADLINE plus scheduling noise.
"""

from __future__ import annotations

import email.utils
import random
import time
from collections.abc import Callable, Mapping
from typing import TypeVar

import openai
from django.conf import settings

from assistant.providers.base import ProviderError
from assistant.providers.deadline import Budget, reply_budget

T = TypeVar("T")

DEADLINE = "deadline"  # the reply budget ran out during an attempt
_RETRYABLE_STATUS = {408, 409, 429}
_BACKOFF_BASE, _BACKOFF_CAP = 0.5, 8.0


def retry_after(headers: Mapping[str, str] | None) -> float | None:
    """Seconds the upstream asked us to wait (retry-after-ms, retry-after seconds or date)."""
    if not headers:
        return None
    for header, divisor in (("retry-after-ms", 1000.0), ("retry-after", 1.0)):
        value = headers.get(header)
        if value is None:
            continue
        try:
            seconds = float(value) / divisor
        except ValueError:
            continue
        return seconds if seconds >= 0 else None
    value = headers.get("retry-after")
    try:
        when = email.utils.parsedate_to_datetime(value) if value else None
    except (TypeError, ValueError):
        return None
    return None if when is None else max(0.0, when.timestamp() - time.time())


def backoff(retry: int) -> float:
    """Exponential back-off with jitter (not security-relevant randomness)."""
    return min(_BACKOFF_CAP, _BACKOFF_BASE * 2 ** (retry - 1)) * random.uniform(0.75, 1.0)  # noqa: S311


def _classify(
    error: openai.OpenAIError, budget: Budget
) -> tuple[ProviderError, bool, float | None]:
    """(the error to report, whether a retry may help, the upstream's Retry-After)."""
    if isinstance(error, openai.APITimeoutError):
        if budget.spent:
            return ProviderError(DEADLINE, str(error)), False, None
        return ProviderError("timeout", str(error)), True, None
    if isinstance(error, openai.APIConnectionError):
        return ProviderError("connection", str(error)), True, None
    if isinstance(error, openai.APIStatusError):
        status = error.status_code
        reason = "rate_limited" if status == 429 else f"http_{status}"
        retryable = status in _RETRYABLE_STATUS or status >= 500
        return ProviderError(reason, str(error)), retryable, retry_after(error.response.headers)
    return ProviderError("client", str(error)), False, None


def provider_error(error: openai.OpenAIError, budget: Budget) -> ProviderError:
    """The ProviderError that reports `error` (its reason is the metric label)."""
    return _classify(error, budget)[0]


def retry_wait(error: openai.OpenAIError, budget: Budget, retry: int) -> float:
    """Seconds to wait before retry number `retry` (1, 2, ...) after `error`.

    Raises the error's ProviderError when a retry cannot help, the retries are used up, or the
    wait would not fit in what is left of the budget (answer now instead of failing later).
    """
    failure, retryable, asked_wait = _classify(error, budget)
    if not retryable or retry > settings.OPENAI_MAX_RETRIES:
        raise failure
    wait = asked_wait if asked_wait is not None else backoff(retry)
    if wait >= budget.remaining():
        raise failure
    return wait


def complete_with_retries(attempt: Callable[[float], T]) -> T:
    """Call attempt(timeout) until it succeeds, a failure is final, or the budget is spent."""
    with reply_budget(settings.WAZEN_LLM_REPLY_DEADLINE) as budget:
        retries = 0
        while True:
            try:
                return attempt(min(settings.OPENAI_TIMEOUT, budget.remaining()))
            except openai.OpenAIError as error:
                retries += 1
                wait = retry_wait(error, budget, retries)
            time.sleep(wait)
