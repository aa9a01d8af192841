"""The default Provider.stream() (the catalog provider's reply handed out in chunks) and the SSE
reader the OpenAI provider streams through (split from test_provider_streaming.py)."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from assistant.providers.base import text_chunks
from assistant.providers.catalog import CatalogProvider
from assistant.providers.openai_sse import Event, sse_events
from tests.assistant.streams import SNAPSHOT, ask, drain

# --- the default: reply() handed out in chunks (catalog provider) ---


@pytest.mark.parametrize(
    "message",
    [
        "What services do you offer?",
        "how much is payroll?",
        "compare bookkeeping and payroll",
        "I want to order VAT filing",
        "where is my order 12?",
        "ما هي الخدمات المتوفرة لديكم؟",
        "كم سعر الرواتب؟",
        "أريد طلب الإقرار الضريبي",
    ],
)
def test_catalog_stream_joins_back_to_the_reply(message):
    provider = CatalogProvider()
    expected = provider.reply(company_name="Acme", snapshot=SNAPSHOT, history=[], message=message)
    deltas, reply = drain(ask(provider, message))
    assert reply == expected  # text, intent, order ids, service ids
    assert "".join(deltas) == expected.text
    if len(expected.text.split()) > 6:
        assert len(deltas) > 1  # a long reply is really handed out in pieces


def test_catalog_stream_answers_in_arabic_in_pieces():
    stream = ask(CatalogProvider(), "ما هي الخدمات المتوفرة لديكم؟")
    deltas, reply = drain(stream)
    assert "الرواتب" in reply.text
    assert len(deltas) >= 3


@given(st.text(alphabet=st.sampled_from(["a", "ب", " ", "\n", "\t", "\u00a0", "٣", "."])))
def test_text_chunks_join_back_exactly(text):
    pieces = list(text_chunks(text))
    assert "".join(pieces) == text
    assert all(pieces)
    assert all(len(p.split()) <= 3 for p in pieces)


# --- SSE framing ---

BODY = (
    b": keep-alive\r\n\r\n"
    b"data: one\r\n\r\n"
    b"event: message\ndata: two\ndata: lines\n\n"
    b"id: 7\rretry: 10\rdata: three\r\r"
    b"data: [DONE]"  # no blank line at the end: still delivered
)


@pytest.mark.parametrize("size", [1, 2, 3, 7, len(BODY)])
def test_sse_events_do_not_depend_on_how_the_bytes_are_cut(size):
    chunks = [BODY[i : i + size] for i in range(0, len(BODY), size)]
    assert [e.data for e in sse_events(chunks)] == ["one", "two\nlines", "three", "[DONE]"]


def test_sse_error_event_keeps_its_name():
    events = list(sse_events([b'event: error\ndata: {"message": "x"}\n\n']))
    assert events == [Event('{"message": "x"}', "error")]
