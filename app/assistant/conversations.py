"""Which conversation a turn belongs to, and what the server remembers of it between turns.

- **Owned by a key.** A conversation belongs to the API key that started it; a lookup by id
  filters on the company *and* the key, so another key of the same company gets the 404 the API
  promises ("No such conversation for this API key."). One without a key (older, or started by
  the previous build during a rolling upgrade) is claimed by the first key that continues it.
- **Found by its history.** OpenAI clients are stateless: they resend the whole history and no
  id. Each conversation keeps a digest of its turns as the server stored them (chained SHA-256,
  seeded with the key, each turn's role and stripped text); a request without an id whose
  earlier turns digest to exactly one conversation of this key continues it. Two
  conversations with the same history (two customers who both said "hi") are ambiguous: neither
  is continued, a new one starts, so one customer can never land in another's conversation by
  guesswork.
- **The pending proposal.** The order the assistant proposed in the previous turn, if any, read
  in the same query as the conversation.
"""

from __future__ import annotations

import hashlib
import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal

from django.conf import settings
from django.db.models import QuerySet
from django.utils import timezone

from assistant.models import Conversation, Message
from assistant.providers import Turn
from tenancy.keys import Tenant

# A proposal not confirmed within this time is not confirmed by a late "yes": prices and minds
# change, and the customer should see what they agree to.
PROPOSAL_MAX_AGE = timedelta(minutes=30)
_SEED = "wazen-conversation-v1"
_FIELDS = (
    "id", "history_digest", "proposal__service_id", "proposal__quantity", "proposal__unit_price",
    "proposal__currency", "proposal__created_at",
)  # fmt: skip


class ConversationNotFound(Exception):
    """No conversation with that id belongs to the caller's API key."""


@dataclass(frozen=True, slots=True)
class PendingProposal:
    """The order the assistant proposed in the conversation's last turn."""

    service_id: int
    quantity: int
    unit_price: Decimal
    currency: str
    created_at: datetime

    @property
    def expired(self) -> bool:
        return timezone.now() - self.created_at > PROPOSAL_MAX_AGE


@dataclass(frozen=True, slots=True)
class ConversationState:
    conversation_id: uuid.UUID
    is_new: bool
    history: list[Turn]  # the turns the provider sees (the last WAZEN_HISTORY_TURNS)
    context: list[Turn]  # a new conversation's earlier turns from the client: stored with it
    digest: str  # of every turn so far (the client's context, for a new conversation)
    proposal: PendingProposal | None


def digest_start(api_key_id: int | None) -> str:
    return hashlib.sha256(f"{_SEED}:{api_key_id}".encode()).hexdigest()


def digest_turns(start: str, turns: Iterable[tuple[str, str]]) -> str:
    """The digest after `turns` (role, text), chained from `start`. Text is compared stripped:
    the server stores the customer's message stripped, clients may resend it as typed."""
    digest = start
    for role, content in turns:
        text = content.strip()
        if text:
            digest = hashlib.sha256(f"{digest}\n{role}\n{text}".encode()).hexdigest()
    return digest


def _owned(tenant: Tenant) -> QuerySet[Conversation]:
    return Conversation.objects.filter(company_id=tenant.id, api_key_id=tenant.api_key_id)


def _claim(tenant: Tenant, conversation_id: uuid.UUID) -> bool:
    """A conversation of the company with no key (started before keys owned conversations, or
    by a pod of the previous build during a rolling upgrade) becomes the key's that continues it
    first; from then on it is that key's alone. Its customer keeps the conversation across the
    upgrade; its id is a random UUID only that customer's client holds."""
    claimed = Conversation.objects.filter(
        pk=conversation_id, company_id=tenant.id, api_key__isnull=True
    ).update(api_key_id=tenant.api_key_id)
    return bool(claimed) and tenant.api_key_id is not None


def _proposal(row: tuple) -> PendingProposal | None:
    service_id, quantity, unit_price, currency, created_at = row[2:]
    if service_id is None:
        return None
    return PendingProposal(service_id, quantity, unit_price, currency, created_at)


def stored_history(conversation_id: uuid.UUID) -> list[Turn]:
    limit = settings.WAZEN_HISTORY_TURNS
    rows = Message.objects.filter(conversation_id=conversation_id).order_by("-id")[:limit]
    return [
        Turn(role=role, content=content)
        for role, content in reversed(rows.values_list("role", "content"))
    ]


def conversation_open(
    *, tenant: Tenant, conversation_id: uuid.UUID | None, context: list[Turn] | None = None
) -> ConversationState:
    """The conversation of this turn: the one named (ConversationNotFound unless this key
    started it), else the one whose history the client resent, else a new one."""
    if conversation_id is not None:
        row = _owned(tenant).filter(pk=conversation_id).values_list(*_FIELDS).first()
        if row is None and _claim(tenant, conversation_id):
            row = _owned(tenant).filter(pk=conversation_id).values_list(*_FIELDS).first()
        if row is None:
            raise ConversationNotFound(str(conversation_id))
        history = stored_history(conversation_id)
        return ConversationState(conversation_id, False, history, [], row[1], _proposal(row))
    context = context or []
    limit = settings.WAZEN_HISTORY_TURNS
    recent = context[-limit:] if limit else []
    digest = digest_turns(digest_start(tenant.api_key_id), ((t.role, t.content) for t in context))
    if context:
        rows = list(_owned(tenant).filter(history_digest=digest).values_list(*_FIELDS)[:2])
        if len(rows) == 1:  # exactly one: never guess between two customers
            return ConversationState(rows[0][0], False, recent, [], digest, _proposal(rows[0]))
    return ConversationState(uuid.uuid4(), True, recent, recent, digest, None)
