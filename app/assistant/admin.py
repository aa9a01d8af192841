from django.contrib import admin

from assistant.models import Conversation, Message, Order


class MessageInline(admin.TabularInline):
    model = Message
    extra = 0
    readonly_fields = ("role", "content", "created_at")
    can_delete = False


@admin.register(Conversation)
class ConversationAdmin(admin.ModelAdmin):
    # Every conversation of the company, whichever key started it (the API scopes by key).
    list_display = ("id", "company", "api_key", "created_at")
    list_filter = ("company",)
    readonly_fields = ("id", "company", "api_key", "created_at")
    exclude = ("history_digest",)
    inlines = [MessageInline]


@admin.register(Order)
class OrderAdmin(admin.ModelAdmin):
    list_display = (
        "id", "company", "service", "quantity", "status", "price", "currency", "created_at",
        "cancelled_at",
    )  # fmt: skip
    list_filter = ("company", "status")
    readonly_fields = (
        "company", "service", "conversation", "quantity", "unit_price", "price", "currency",
        "created_at", "cancelled_at",
    )  # fmt: skip
