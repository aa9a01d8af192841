"""The in-flight slots and the hang-up rule, in process: a hang-up is thrown into a reply only
while it waits on the LLM, and raised at its next wait otherwise (never into database work)."""

from __future__ import annotations

import pytest
from django.test import RequestFactory

from api import inflight
from api.errors import ApiError


class Target:
    """Stands for the reply's greenlet: records what is thrown into it."""

    dead = False

    def __init__(self) -> None:
        self.thrown: list[BaseException] = []

    def throw(self, error: BaseException) -> None:
        self.thrown.append(error)


@pytest.fixture
def reply(settings):
    settings.WAZEN_MAX_INFLIGHT_REPLIES = 2
    reply = inflight.admit(RequestFactory().post("/v1/chat/completions"))
    reply._target = Target()
    token = inflight._watched.set(reply)
    yield reply
    inflight._watched.reset(token)
    reply.close()


def test_a_hang_up_outside_an_llm_wait_is_not_thrown_but_raised_at_the_next_wait(reply):
    reply._throw()  # the reply is busy elsewhere (e.g. writing to the database)
    assert reply.gone
    assert reply._target.thrown == []
    with pytest.raises(inflight.ClientGone), inflight.interruptible():
        pytest.fail("the wait must not start once the client is gone")


def test_a_hang_up_during_an_llm_wait_is_thrown_into_the_reply(reply):
    with inflight.interruptible():
        assert reply.interruptible
        reply._throw()
    assert not reply.interruptible
    assert [type(e) for e in reply._target.thrown] == [inflight.ClientGone]


def test_a_closed_reply_is_left_alone(reply):
    reply.close()
    reply._throw()
    assert not reply.gone
    assert reply._target.thrown == []


def test_without_a_watched_reply_a_wait_is_a_plain_block():
    with inflight.interruptible():
        pass


def test_past_the_limit_a_reply_is_refused_and_a_slot_is_given_back_once(settings):
    settings.WAZEN_MAX_INFLIGHT_REPLIES = 2
    request = RequestFactory().post("/v1/chat/completions")
    held = [inflight.admit(request), inflight.admit(request)]
    with pytest.raises(ApiError) as refused:
        inflight.admit(request)
    assert refused.value.status == 503
    assert refused.value.code == "server_busy"
    assert refused.value.headers == {"Retry-After": "1"}
    held[0].close()
    held[0].close()  # a second close gives nothing back twice
    assert inflight.SLOTS.in_flight == 1
    held.append(inflight.admit(request))
    with pytest.raises(ApiError):
        inflight.admit(request)
    for reply in held[1:]:
        reply.close()
    assert inflight.SLOTS.in_flight == 0
