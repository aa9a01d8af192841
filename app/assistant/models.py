"""Conversations with their messages, and the orders placed in them. Every row carries its
company, so tenant isolation is a filter on an indexed column, never a join.
"""

import uuid

from django.db import models

from catalog.models import Company, Service


class Conversation(models.Model):
    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    company = models.ForeignKey(Company, on_delete=models.CASCADE, related_name="conversations")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at"]

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
    # What the customer was quoted, kept even if the service's price changes later.
    price = models.DecimalField(max_digits=12, decimal_places=2)
    currency = models.CharField(max_length=3)
    created_at = models.DateTimeField(auto_now_add=True)
    # When the customer cancelled it (through the assistant); staff changes leave it empty.
    cancelled_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]
        constraints = [
            models.CheckConstraint(condition=models.Q(price__gte=0), name="order_price_gte_0")
        ]

    def __str__(self) -> str:
        return f"Order {self.pk} {self.service_id} ({self.status})"
