"""The conversation suite: the same table of dialogues, half in Arabic, run through the whole
reply pipeline (database, cache, orders) with each provider.

- `catalog`: the offline provider must read every message right: the intent, the services it is
  about, the order proposed, placed (or not), cancelled (or not), the reply's language and key
  facts (prices with the currency in the customer's language).
- `openai`: the real SDK against a local chat-completions server scripted with the tool call a
  good model makes for each step (or a plain answer in the customer's language). This proves
  the provider's tool handling and the service layer behind it: the same orders are proposed,
  placed, cancelled or refused, and the service's own texts come back in the customer's
  language. The customer's "yes" to a proposal never reaches the model: the server reads it.

The vocabulary and the tables: tests/assistant/dialogues/.
"""

from __future__ import annotations

import pytest

from tenancy.keys import Tenant
from tests.assistant.dialogues.basics import BASICS
from tests.assistant.dialogues.harness import demo_company, run_dialogue
from tests.assistant.dialogues.orders import ISSUE_18

pytestmark = pytest.mark.django_db(transaction=True)

DIALOGUES = BASICS + ISSUE_18


def test_the_suite_is_big_enough_and_half_arabic():
    by_language = {"en": 0, "ar": 0}
    for dialogue in DIALOGUES:
        by_language[dialogue.language] += 1
    assert len(DIALOGUES) >= 40
    assert by_language["ar"] * 2 >= len(DIALOGUES)
    assert len({d.name for d in DIALOGUES}) == len(DIALOGUES)


@pytest.fixture
def demo() -> Tenant:
    return demo_company()


@pytest.mark.parametrize("dialogue", DIALOGUES, ids=lambda d: d.name)
def test_catalog_provider(dialogue, demo, settings):
    settings.LLM_PROVIDER = "catalog"
    run_dialogue(dialogue, demo, llm=None)


@pytest.mark.parametrize("dialogue", DIALOGUES, ids=lambda d: d.name)
def test_openai_provider_tools(dialogue, demo, llm):
    run_dialogue(dialogue, demo, llm=llm)
