"""Rows written by pods of the previous build while the new schema is in place (a rolling
upgrade): they know nothing of quantities, proposals or key ownership. Their inserts must succeed
(the new columns have database defaults or are nullable) and their customers keep their
conversations on the new pods."""

from __future__ import annotations

import json
import uuid

import pytest
from django.db import connection

from assistant.models import Conversation, Order
from catalog.models import Service
from tenancy.keys import api_key_issue

pytestmark = pytest.mark.django_db(transaction=True)


def chat(client, key: str, message: str, conversation_id: str | None = None):
    body = {"message": message, **({"conversation_id": conversation_id} if conversation_id else {})}
    return client.post(
        "/api/v1/chat", json.dumps(body), content_type="application/json",
        HTTP_AUTHORIZATION=f"Bearer {key}",
    )  # fmt: skip


def insert_as_the_previous_build(company) -> tuple[uuid.UUID, int]:
    """A conversation and an order inserted with the previous build's columns only."""
    conversation_id = uuid.uuid4()
    service = Service.objects.filter(company=company).first()
    with connection.cursor() as cursor:
        cursor.execute(
            "INSERT INTO assistant_conversation (id, company_id, created_at) VALUES (%s, %s, %s)",
            [conversation_id.hex if connection.vendor == "sqlite" else conversation_id,
             company.id, "2026-12-01T00:00:00+00:00"],
        )  # fmt: skip
        cursor.execute(
            "INSERT INTO assistant_order (company_id, service_id, conversation_id, price, "
            "currency, status, created_at) VALUES (%s, %s, %s, %s, %s, %s, %s)",
            [company.id, service.id,
             conversation_id.hex if connection.vendor == "sqlite" else conversation_id,
             "100.00", "SAR", "placed", "2026-12-01T00:00:00+00:00"],
        )  # fmt: skip
    return conversation_id, service.id


def test_rows_of_the_previous_build_insert_and_read_back(company):
    conversation_id, _ = insert_as_the_previous_build(company)
    conversation = Conversation.objects.get(pk=conversation_id)
    assert conversation.api_key_id is None
    assert conversation.history_digest == ""
    order = Order.objects.get(conversation_id=conversation_id)
    assert order.quantity == 1
    assert order.unit_price is None  # quantity 1 at its price


def test_a_conversation_without_a_key_is_claimed_by_the_key_that_continues_it(
    client, company, api_key
):
    conversation_id, _ = insert_as_the_previous_build(company)
    second_key = api_key_issue(company=company, name="second")[1]
    first = chat(client, api_key, "where is my order?", str(conversation_id))
    assert first.status_code == 200, first.content
    assert first.json()["conversation_id"] == str(conversation_id)
    assert Conversation.objects.get(pk=conversation_id).api_key_id is not None
    other = chat(client, second_key, "cancel it", str(conversation_id))
    assert other.status_code == 404  # claimed: from now on the first key's alone
