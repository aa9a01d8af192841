"""The reply pipeline: catalog snapshot once → provider → order → persist.

The snapshot is read once per reply and handed down; nothing below re-reads the catalog (the
original bug read it five times per reply).
"""

from __future__ import annotations

import logging
import time
import uuid
from collections.abc import Generator, Iterator
from contextlib import closing, contextmanager
from dataclasses import dataclass, replace

from django.db import DatabaseError, connection, transaction

from api.inflight import interruptible
from assistant import replies
from assistant.confirmation import is_confirmation
from assistant.conversations import (
    ConversationNotFound,
    PendingProposal,
    conversation_open,
    digest_turns,
    stored_history,
)
from assistant.language import conversation_language
from assistant.models import Conversation, Message
from assistant.orders import OrderSummary, order_cancel, order_create, order_status_text
from assistant.proposals import ProposalSummary, proposal_confirm, proposal_discard, proposal_make
from assistant.providers import (
    Intent,
    Provider,
    ProviderError,
    ProviderReply,
    Turn,
    get_provider,
)
from catalog import cache as catalog_cache
from catalog.snapshot import CatalogSnapshot
from ops.metrics import (
    LLM_DURATION,
    LLM_ERRORS,
    REPLIES_ABANDONED,
    REPLY_DB_QUERIES,
    REPLY_DURATION,
    REPLY_FIRST_CHUNK,
)
from tenancy.keys import Tenant

logger = logging.getLogger(__name__)

APOLOGY = replies.APOLOGY["en"]
# Re-exported: the views catch it from here; order_create for callers of the service layer.
__all__ = ["ConversationNotFound", "PreparedReply", "ReplyResult", "order_create"]


@dataclass(frozen=True, slots=True)
class ReplyResult:
    reply: str
    conversation_id: uuid.UUID
    order: OrderSummary | None
    db_queries: int
    intent: str = Intent.ANSWER.value  # what the customer asked for, as the provider read it
    language: str = "en"  # the language the reply is written in
    service_ids: tuple[int, ...] = ()  # the services the answer is about (as the provider said)
    proposal: ProposalSummary | None = None  # the order proposed this turn, awaiting a "yes"


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


@dataclass(frozen=True, slots=True)
class PreparedReply:
    """Everything a reply needs before its first word, decided before any of it is sent: a
    streamed reply's status line (200, or 404 for another company's conversation) goes out
    before the provider is asked."""

    tenant: Tenant
    message: str
    conversation_id: uuid.UUID
    is_new: bool  # the conversation is created with the reply (its id is announced first)
    history: list[Turn]
    context: list[Turn]  # earlier turns the client sent for a new conversation: stored with it
    language: str
    snapshot: CatalogSnapshot
    provider: Provider
    db_queries: int
    digest: str = ""  # of the conversation's turns before this one (assistant/conversations.py)
    proposal: PendingProposal | None = None  # what the previous turn proposed to order
    confirms: bool = False  # this turn is the customer's "yes" to that proposal: it is placed


def reply_start(
    *,
    tenant: Tenant,
    message: str,
    conversation_id: uuid.UUID | None,
    context: list[Turn] | None = None,
) -> PreparedReply:
    """Read the conversation (ConversationNotFound for an id this API key did not start), the
    language and the catalog snapshot. Without an id, `context` (earlier turns the client holds)
    continues the one conversation of this key with exactly that history, else starts one."""
    with _count_queries() as queries:
        state = conversation_open(tenant=tenant, conversation_id=conversation_id, context=context)
        snapshot = catalog_cache.orderable_services(tenant.id)
    proposal = state.proposal
    confirms = proposal is not None and not proposal.expired and is_confirmation(message)
    return PreparedReply(
        tenant=tenant,
        message=message,
        conversation_id=state.conversation_id,
        is_new=state.is_new,
        history=state.history,
        context=state.context,
        language=conversation_language([(t.role, t.content) for t in state.history], message),
        snapshot=snapshot,
        provider=get_provider(),
        db_queries=queries[0],
        digest=state.digest,
        proposal=proposal,
        confirms=confirms,
    )


def reply_create(*, tenant: Tenant, message: str, conversation_id: uuid.UUID | None) -> ReplyResult:
    """The whole reply at once (the JSON APIs without streaming)."""
    turn = reply_start(tenant=tenant, message=message, conversation_id=conversation_id)
    return reply_whole(turn)


def reply_whole(turn: PreparedReply) -> ReplyResult:
    """The prepared reply, produced in one piece (the provider answers without streaming)."""
    return next(item for item in reply_stream(turn) if isinstance(item, ReplyResult))


def reply_stream(turn: PreparedReply, *, stream: bool = False) -> Iterator[str | ReplyResult]:
    """The reply's text as it is produced, then its ReplyResult.

    With `stream`, the provider's deltas pass through as they arrive; without it, the provider
    answers in one piece (one delta). After the provider, the requested action (order, status,
    cancel) is carried out against the database and its outcome follows as a last delta; the
    turn is stored in the same transaction. A consumer that stops early (the client went away)
    closes this generator: the provider's upstream call is closed, and the conversation keeps
    the customer's message and what the assistant had said so far; nothing is ordered.
    """
    started = time.perf_counter()
    said: list[str] = []
    stored = False
    try:
        release_connection()  # the provider may take seconds: no connection is held meanwhile
        provider_reply, outcome = yield from _provider_deltas(turn, said, stream=stream)
        with _count_queries() as queries, transaction.atomic():
            # An order or proposal refers to the conversation: its row comes first then; else
            # it is created with the messages, already carrying its final digest.
            opened = turn.confirms or provider_reply.order_service_id is not None
            if opened:
                _open_conversation(turn)
            done, order, proposal, outcome = _carry_out(turn, provider_reply, outcome)
            text = _join(provider_reply.text, done)
            _store_messages(turn, text, opened=opened)
        stored = True
        release_connection()
        if done:
            yield text[len(provider_reply.text) :]
    except GeneratorExit:
        if not stored:
            REPLIES_ABANDONED.labels(provider=turn.provider.name).inc()
            try:
                with transaction.atomic():
                    _open_conversation(turn)
                    if turn.proposal is not None:  # a "yes" must answer a question it saw
                        proposal_discard(conversation_id=turn.conversation_id)
                    _store_messages(turn, "".join(said), opened=True)
            except DatabaseError:  # nobody is left to answer: say it in the log, once
                logger.warning("An abandoned reply could not be stored", exc_info=True)
        raise
    db_queries = turn.db_queries + queries[0]
    REPLY_DB_QUERIES.observe(db_queries)
    REPLY_DURATION.labels(provider=turn.provider.name, outcome=outcome).observe(
        time.perf_counter() - started
    )
    yield ReplyResult(
        reply=text,
        conversation_id=turn.conversation_id,
        order=order,
        db_queries=db_queries,
        intent=provider_reply.intent.value,
        language=turn.language,
        service_ids=provider_reply.service_ids,
        proposal=proposal,
    )


def release_connection() -> None:
    """Hand this request's database connection back (to the pool, under PostgreSQL) between a
    reply's short database steps, so that connections stay bounded by the pool however many
    replies wait on the LLM. Inside an atomic block (a caller's transaction) it stays open:
    closing it there would doom the transaction."""
    if not connection.in_atomic_block:
        connection.close()


def _open_conversation(turn: PreparedReply, digest: str = "") -> None:
    if turn.is_new:
        Conversation.objects.create(
            id=turn.conversation_id,
            company_id=turn.tenant.id,
            api_key_id=turn.tenant.api_key_id,
            history_digest=digest or turn.digest,
        )


def _store_messages(turn: PreparedReply, assistant_text: str, *, opened: bool) -> None:
    """The turn (and, for a new conversation, the earlier turns the client sent) in one
    statement, with the conversation's digest moved past it: a new conversation not `opened`
    yet is created with it, any other gets it in one UPDATE."""
    spoken = [(Message.Role.USER, turn.message), (Message.Role.ASSISTANT, assistant_text)]
    digest = digest_turns(turn.digest, spoken)
    if turn.is_new and not opened:
        _open_conversation(turn, digest)
    else:
        Conversation.objects.filter(pk=turn.conversation_id).update(history_digest=digest)
    messages = [Message(role=t.role, content=t.content) for t in turn.context]
    messages.append(Message(role=Message.Role.USER, content=turn.message))
    if assistant_text:
        messages.append(Message(role=Message.Role.ASSISTANT, content=assistant_text))
    for message in messages:
        message.conversation_id = turn.conversation_id
    Message.objects.bulk_create(messages)


def _provider_deltas(
    turn: PreparedReply, said: list[str], *, stream: bool
) -> Generator[str, None, tuple[ProviderReply, str]]:
    """Yield the provider's text; return its reply and the outcome label. A provider failure
    becomes an apology (after whatever was already said), counted by reason. The customer's
    "yes" to a proposal is not the provider's to judge: the service layer places the order and
    says so itself (assistant/proposals.py)."""
    if turn.confirms:
        return ProviderReply("", intent=Intent.ORDER_CONFIRM), "answered"
    provider = turn.provider
    arguments = {
        "company_name": turn.tenant.name,
        "snapshot": turn.snapshot,
        "history": turn.history,
        "message": turn.message,
    }
    started = time.perf_counter()
    try:
        if not stream:
            with interruptible():
                provider_reply = provider.reply(**arguments)
            if provider_reply.text:
                said.append(provider_reply.text)
                yield provider_reply.text
            return provider_reply, "answered"
        provider_reply = None
        with closing(provider.stream(**arguments)) as items:
            for item in _waiting_on(items):
                if isinstance(item, ProviderReply):
                    provider_reply = item
                elif item:
                    if not said:
                        REPLY_FIRST_CHUNK.labels(provider=provider.name).observe(
                            time.perf_counter() - started
                        )
                    said.append(item)
                    yield item
        if provider_reply is None:
            raise ProviderError("malformed_response", "the stream ended without a reply")
        # What the customer was shown is what is stored, whatever the provider's final text says.
        return replace(provider_reply, text="".join(said)), "answered"
    except ProviderError as error:
        LLM_ERRORS.labels(provider=provider.name, reason=error.reason).inc()
        logger.warning("LLM provider %s failed: %s", provider.name, error)
        before = "".join(said)
        text = _join(before, replies.APOLOGY[turn.language])
        said.append(text[len(before) :])
        yield said[-1]
        return ProviderReply(text), "provider_error"
    finally:
        LLM_DURATION.labels(provider=provider.name).observe(time.perf_counter() - started)


def _waiting_on(items: Iterator[str | ProviderReply]) -> Iterator[str | ProviderReply]:
    """The provider's items, each awaited as an interruptible wait on the LLM (a client's
    hang-up ends it at once), while the work between them is not."""
    while True:
        with interruptible():
            item = next(items, None)
        if item is None:
            return
        yield item


def _carry_out(
    turn: PreparedReply, provider_reply: ProviderReply, outcome: str
) -> tuple[str, OrderSummary | None, ProposalSummary | None, str]:
    """Turn the provider's intent into database writes/reads of the customer's own
    conversation: (what was done, as text to follow the provider's, the order, the proposal,
    the outcome). An order is only ever placed from the previous turn's proposal."""
    tenant, language, conversation_id = turn.tenant, turn.language, turn.conversation_id
    if turn.confirms and turn.proposal is not None:
        done, order, proposal = proposal_confirm(
            tenant=tenant,
            snapshot=turn.snapshot,
            conversation_id=conversation_id,
            proposal=turn.proposal,
            language=language,
        )
        return done, order, proposal, "ordered" if order else outcome
    if turn.proposal is not None:  # not a "yes": the proposal is over
        proposal_discard(conversation_id=conversation_id)
    if provider_reply.order_service_id is not None:
        done, proposal = proposal_make(
            tenant=tenant,
            snapshot=turn.snapshot,
            conversation_id=conversation_id,
            service_id=provider_reply.order_service_id,
            quantity=provider_reply.quantity,
            language=language,
        )
        return done, None, proposal, "order_proposed" if proposal else outcome
    if provider_reply.intent is Intent.ORDER_STATUS:
        done = order_status_text(
            tenant=tenant,
            conversation_id=conversation_id,
            order_id=provider_reply.order_id,
            language=language,
        )
        return done, None, None, "order_status"
    if provider_reply.intent is Intent.ORDER_CANCEL:
        named = provider_reply.service_ids
        service_id = named[0] if len(named) == 1 and provider_reply.order_id is None else None
        entry = turn.snapshot.get(service_id) if service_id is not None else None
        done, order = order_cancel(
            tenant=tenant,
            conversation_id=conversation_id,
            order_id=provider_reply.order_id,
            language=language,
            service_id=service_id,
            service_name=entry.name_in(language) if entry else "",
        )
        return done, order, None, "order_cancelled" if order else outcome
    return "", None, None, outcome


def _join(provider_text: str, done: str) -> str:
    if not done:
        return provider_text
    return f"{provider_text}\n\n{done}" if provider_text else done


def conversation_history(*, tenant: Tenant, conversation_id: uuid.UUID | None) -> list[Turn]:
    """Earlier turns, oldest first. Raises ConversationNotFound for an id this key did not
    start."""
    if conversation_id is None:
        return []
    conversation_open(tenant=tenant, conversation_id=conversation_id)
    return stored_history(conversation_id)
