"""Conversations with their messages, the order the assistant has proposed in one (waiting for the
customer's yes), and the orders placed in them. Every row carries its company, so tenant
isolation is a filter on an indexed column, never a join; a conversation also carries the API key
that started it, because the API promises "for this API key" and only that key may continue it.
"""

import uuid

from django.db import models

from catalog.models import Service
from tenancy.models import ApiKey, Company


class Conversation(models.Model):
    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    company = models.ForeignKey(Company, on_delete=models.CASCADE, related_name="conversations")
    # The key that started it: only that key continues it (another key of the company gets the
    # 404). Empty for conversations from before keys owned them and after the key is deleted:
    # then no API caller reaches it, while the company admin still sees it.
    api_key = models.ForeignKey(
        ApiKey, on_delete=models.SET_NULL, null=True, blank=True, related_name="conversations"
    )
    # A digest of every turn so far as the server produced it (assistant/conversations.py): a
    # stateless OpenAI client that resends the history without an id continues this conversation.
    # db_default: pods of the previous build insert conversations without it (rolling upgrade).
    history_digest = models.CharField(max_length=64, blank=True, default="", db_default="")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at"]
        indexes = [models.Index(fields=["api_key", "history_digest"])]

    def __str__(self) -> str:
        return f"{self.company.slug}/{self.id}"


class Message(models.Model):
    class Role(models.TextChoices):
        USER = "user"
        ASSISTANT = "assistant"

    conversation = models.ForeignKey(
        Conversation, on_delete=models.CASCADE, related_name="messages"
    )
    role = models.CharField(max_length=16, choices=Role.choices)
    content = models.TextField()
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["id"]
        indexes = [models.Index(fields=["conversation", "id"])]

    def __str__(self) -> str:
        return f"{self.role}: {self.content[:40]}"


class Order(models.Model):
    class Status(models.TextChoices):
        PLACED = "placed"  # pending: the customer may still cancel it
        CONFIRMED = "confirmed"
        CANCELLED = "cancelled"

    company = models.ForeignKey(Company, on_delete=models.CASCADE, related_name="orders")
    service = models.ForeignKey(Service, on_delete=models.PROTECT, related_name="orders")
    conversation = models.ForeignKey(
        Conversation, on_delete=models.SET_NULL, null=True, blank=True, related_name="orders"
    )
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.PLACED)
    # What the customer was quoted, kept even if the service's price changes later: the total
    # (unit_price * quantity) and its parts.
    price = models.DecimalField(max_digits=12, decimal_places=2)
    # NULL only on an order placed by a pod of the build before quantities (a rolling upgrade):
    # quantity 1 at its price. db_default for the same reason.
    unit_price = models.DecimalField(max_digits=12, decimal_places=2, null=True, blank=True)
    quantity = models.PositiveIntegerField(default=1, db_default=1)
    currency = models.CharField(max_length=3)
    created_at = models.DateTimeField(auto_now_add=True)
    # When the customer cancelled it (through the assistant); staff changes leave it empty.
    cancelled_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]
        constraints = [
            models.CheckConstraint(condition=models.Q(price__gte=0), name="order_price_gte_0"),
            models.CheckConstraint(
                condition=models.Q(quantity__gte=1), name="order_quantity_gte_1"
            ),
        ]

    def __str__(self) -> str:
        return f"Order {self.pk} {self.service_id} ({self.status})"


class OrderProposal(models.Model):
    """The order the assistant has just stated (service, quantity, total) and asked the customer
    to confirm. At most one per conversation, and it lives for one turn only: the next customer
    turn either confirms it (it becomes an Order, after the service and price are checked again)
    or discards it, so a "yes" can only ever confirm what the assistant said just before it."""

    conversation = models.OneToOneField(
        Conversation, on_delete=models.CASCADE, primary_key=True, related_name="proposal"
    )
    service = models.ForeignKey(Service, on_delete=models.CASCADE, related_name="+")
    quantity = models.PositiveIntegerField()
    unit_price = models.DecimalField(max_digits=12, decimal_places=2)
    currency = models.CharField(max_length=3)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.CheckConstraint(
                condition=models.Q(quantity__gte=1), name="proposal_quantity_gte_1"
            )
        ]

    def __str__(self) -> str:
        return f"Proposal {self.service_id} x{self.quantity} ({self.conversation_id})"
