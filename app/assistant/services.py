"""The reply pipeline: catalog snapshot once → provider → order → persist.

The snapshot is read once per reply and handed down; nothing below re-reads the catalog (the
original bug read it five times per reply).
"""

from __future__ import annotations

import logging
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

from django.conf import settings
from django.db import connection, transaction

from assistant import replies
from assistant.language import conversation_language
from assistant.models import Conversation, Message, Order
from assistant.orders import OrderSummary, order_cancel, order_status_text
from assistant.providers import (
    Intent,
    Provider,
    ProviderError,
    ProviderReply,
    Turn,
    get_provider,
)
from catalog import cache as catalog_cache
from catalog.api_keys import Tenant
from catalog.models import Service
from catalog.snapshot import CatalogSnapshot
from ops.metrics import (
    LLM_DURATION,
    LLM_ERRORS,
    ORDERS_CREATED,
    REPLY_DB_QUERIES,
    REPLY_DURATION,
)

logger = logging.getLogger(__name__)

APOLOGY = replies.APOLOGY["en"]


class ConversationNotFound(Exception):
    """No conversation with that id belongs to the caller's company."""


@dataclass(frozen=True, slots=True)
class ReplyResult:
    reply: str
    conversation_id: uuid.UUID
    order: OrderSummary | None
    db_queries: int
    intent: str = Intent.ANSWER.value  # what the customer asked for, as the provider read it
    language: str = "en"  # the language the reply is written in
    service_ids: tuple[int, ...] = ()  # the services the answer is about (as the provider said)


_TRANSACTION_CONTROL = ("BEGIN", "SAVEPOINT", "RELEASE SAVEPOINT", "ROLLBACK TO SAVEPOINT")


@contextmanager
def _count_queries() -> Iterator[list[int]]:
    counter = [0]

    def count(execute, sql, params, many, context):
        if not sql.startswith(_TRANSACTION_CONTROL):  # SQLite issues BEGIN as a statement
            counter[0] += 1
        return execute(sql, params, many, context)

    with connection.execute_wrapper(count):
        yield counter


def reply_create(*, tenant: Tenant, message: str, conversation_id: uuid.UUID | None) -> ReplyResult:
    provider = get_provider()
    started = time.perf_counter()
    with _count_queries() as queries:
        history = conversation_history(tenant=tenant, conversation_id=conversation_id)
        language = conversation_language([(t.role, t.content) for t in history], message)
        snapshot = catalog_cache.orderable_services(tenant.id)
        provider_reply, outcome = _ask_provider(
            provider, tenant, snapshot, history, message, language
        )
        with transaction.atomic():
            if conversation_id is None:
                conversation_id = Conversation.objects.create(company_id=tenant.id).id
            text, order, outcome = _carry_out(
                tenant=tenant,
                snapshot=snapshot,
                provider_reply=provider_reply,
                conversation_id=conversation_id,
                language=language,
                outcome=outcome,
            )
            Message.objects.bulk_create(
                [
                    Message(
                        conversation_id=conversation_id, role=Message.Role.USER, content=message
                    ),
                    Message(
                        conversation_id=conversation_id, role=Message.Role.ASSISTANT, content=text
                    ),
                ]
            )
    REPLY_DB_QUERIES.observe(queries[0])
    REPLY_DURATION.labels(provider=provider.name, outcome=outcome).observe(
        time.perf_counter() - started
    )
    return ReplyResult(
        reply=text,
        conversation_id=conversation_id,
        order=order,
        db_queries=queries[0],
        intent=provider_reply.intent.value,
        language=language,
        service_ids=provider_reply.service_ids,
    )


def _carry_out(
    *,
    tenant: Tenant,
    snapshot: CatalogSnapshot,
    provider_reply: ProviderReply,
    conversation_id: uuid.UUID,
    language: str,
    outcome: str,
) -> tuple[str, OrderSummary | None, str]:
    """Turn the provider's intent into database writes/reads of the customer's own
    conversation; the reply is the provider's text followed by what was done."""
    intent = provider_reply.intent
    if provider_reply.order_service_id is not None:
        text, order = _place_order(
            tenant=tenant,
            snapshot=snapshot,
            service_id=provider_reply.order_service_id,
            conversation_id=conversation_id,
            provider_text=provider_reply.text,
            language=language,
        )
        return text, order, "ordered" if order else outcome
    if intent is Intent.ORDER_STATUS:
        done = order_status_text(
            tenant=tenant,
            conversation_id=conversation_id,
            order_id=provider_reply.order_id,
            language=language,
        )
        return _join(provider_reply.text, done), None, "order_status"
    if intent is Intent.ORDER_CANCEL:
        done, order = order_cancel(
            tenant=tenant,
            conversation_id=conversation_id,
            order_id=provider_reply.order_id,
            language=language,
        )
        return _join(provider_reply.text, done), order, "order_cancelled" if order else outcome
    return provider_reply.text, None, outcome


def _join(provider_text: str, done: str) -> str:
    return f"{provider_text}\n\n{done}" if provider_text else done


def conversation_history(*, tenant: Tenant, conversation_id: uuid.UUID | None) -> list[Turn]:
    """Earlier turns, oldest first. Raises ConversationNotFound for another company's id."""
    if conversation_id is None:
        return []
    if not Conversation.objects.filter(pk=conversation_id, company_id=tenant.id).exists():
        raise ConversationNotFound(str(conversation_id))
    limit = settings.WAZEN_HISTORY_TURNS
    rows = Message.objects.filter(conversation_id=conversation_id).order_by("-id")[:limit]
    return [
        Turn(role=role, content=content)
        for role, content in reversed(rows.values_list("role", "content"))
    ]


def _ask_provider(
    provider: Provider,
    tenant: Tenant,
    snapshot: CatalogSnapshot,
    history: list[Turn],
    message: str,
    language: str,
) -> tuple[ProviderReply, str]:
    """The provider's reply and the outcome label; a provider failure becomes an apology."""
    started = time.perf_counter()
    try:
        return (
            provider.reply(
                company_name=tenant.name, snapshot=snapshot, history=history, message=message
            ),
            "answered",
        )
    except ProviderError as error:
        LLM_ERRORS.labels(provider=provider.name, reason=error.reason).inc()
        logger.warning("LLM provider %s failed: %s", provider.name, error)
        return ProviderReply(replies.APOLOGY[language]), "provider_error"
    finally:
        LLM_DURATION.labels(provider=provider.name).observe(time.perf_counter() - started)


def _place_order(
    *,
    tenant: Tenant,
    snapshot: CatalogSnapshot,
    service_id: int,
    conversation_id: uuid.UUID,
    provider_text: str,
    language: str = "en",
) -> tuple[str, OrderSummary | None]:
    entry = snapshot.get(service_id)
    order = order_create(tenant=tenant, service_id=service_id, conversation_id=conversation_id)
    if order is None:
        name = entry.name_in(language) if entry else replies.say("unknown_service", language)
        return replies.say("order_refused", language, name=name), None
    confirmation = replies.say(
        "order_placed",
        language,
        id=order.id,
        name=entry.name_in(language) if entry else order.service_name,
        price=replies.price(order.price, order.currency, language),
    )
    return _join(provider_text, confirmation), order


def order_create(
    *, tenant: Tenant, service_id: int, conversation_id: uuid.UUID | None
) -> OrderSummary | None:
    """Order a service of the tenant's that is active and orderable now (checked in the DB,
    since the snapshot may be up to one invalidation old); None if it is not."""
    row = (
        Service.objects.filter(
            pk=service_id, company_id=tenant.id, is_active=True, is_orderable=True
        )
        .values_list("name", "price", "currency")
        .first()
    )
    if row is None:
        return None
    name, price, currency = row
    order = Order.objects.create(
        company_id=tenant.id,
        service_id=service_id,
        conversation_id=conversation_id,
        price=price,
        currency=currency,
    )
    transaction.on_commit(ORDERS_CREATED.inc)
    return OrderSummary(
        id=order.id,
        service_id=service_id,
        service_name=name,
        price=str(price),
        currency=currency,
        status=order.status,
    )
