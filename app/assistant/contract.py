"""The chat API's request, declared once: apis.py validates with it, openapi.py documents it."""

from __future__ import annotations

from django.conf import settings

from api.fields import ObjectContract, TextField, UuidField

CHAT_REQUEST = ObjectContract(
    fields=(
        TextField("message", max_length=lambda: settings.WAZEN_MAX_MESSAGE_CHARS),
        UuidField("conversation_id"),
    )
)
