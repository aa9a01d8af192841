"""The OpenAI-compatible endpoints: thin views over the assistant's reply pipeline."""

from __future__ import annotations

import uuid

from django.conf import settings
from django.http import HttpRequest, HttpResponse

from api import ratelimit
from api.errors import ApiError
from api.openapi import Operation
from api.validation import read_request
from api.views import JsonApiView
from assistant.services import ConversationNotFound, reply_start, reply_whole
from openai_compat.conversation import customer_turn
from openai_compat.replies import CompletionReply
from openai_compat.schemas import (
    ChatCompletion,
    ChatCompletionChunk,
    ChatCompletionRequest,
    Model,
    ModelList,
)
from openai_compat.streaming import event_stream, sse_response

# The `created` of the assistant models: the date this API was first published (2026-11-30).
MODELS_CREATED = 1795996800
CONVERSATION_HEADER = "X-Conversation-Id"


def _json(model) -> HttpResponse:
    return HttpResponse(model.model_dump_json(exclude_unset=True), content_type="application/json")


def _model(slug: str) -> Model:
    return Model(id=slug, object="model", created=MODELS_CREATED, owned_by=slug)


def _model_not_found(name: str) -> ApiError:
    return ApiError(
        404,
        "model_not_found",
        f"The model '{name}' does not exist for this API key; GET /v1/models lists its assistant.",
        param="model",
    )


class ModelsApi(JsonApiView):
    operations = {
        "get": Operation(
            summary="The models this key may use: its company's assistant",
            response=ModelList,
        )
    }

    def get(self, request: HttpRequest) -> HttpResponse:
        return _json(ModelList(object="list", data=[_model(request.tenant.slug)]))


class ModelApi(JsonApiView):
    operations = {
        "get": Operation(
            summary="One model",
            response=Model,
            errors={404: "No such model for this key."},
        )
    }

    def get(self, request: HttpRequest, model: str) -> HttpResponse:
        if model != request.tenant.slug:
            raise _model_not_found(model)
        return _json(_model(model))


class ChatCompletionsApi(JsonApiView):
    charges_reply = True
    operations = {
        "post": Operation(
            summary="Chat with the company's assistant, OpenAI style (optionally streamed)",
            description="The last message is the customer's turn. **Conversation identity:** "
            "send `metadata.conversation_id` (from an earlier reply's `metadata`) to continue a "
            "stored conversation; it is always preferred. Without it, a client that resends the "
            "whole history continues the conversation this API key started with exactly those "
            "earlier `user`/`assistant` turns (as the server wrote them); any other history "
            "starts a new conversation, stored with those messages as its context. "
            "Conversations belong to the key that started them. **Orders take two steps:** an "
            "order request is answered with `metadata.proposal` (service, quantity, unit price, "
            "total, currency) and a question; the order is placed only if the next customer "
            "message is a plain yes (`yes`, `confirm`, `نعم`), and is then in the reply's text "
            "and in `metadata.order`. A question about a service never orders. With "
            "`stream: true` the answer is Server-Sent Events. The daily reply quota is charged "
            "only for an accepted request.",
            request=ChatCompletionRequest,
            response=ChatCompletion,
            events=ChatCompletionChunk,
            response_headers={CONVERSATION_HEADER: "The conversation this reply belongs to."},
            errors={
                404: "Unknown model, or unknown conversation (or one another API key started)."
            },
        )
    }

    def post(self, request: HttpRequest) -> HttpResponse:
        body = read_request(
            request, ChatCompletionRequest, max_bytes=settings.WAZEN_MAX_COMPLETIONS_BODY_BYTES
        )
        request.in_flight.watch_client()
        message, context = customer_turn(body.messages)
        if body.model != request.tenant.slug:
            raise _model_not_found(body.model)
        try:
            turn = reply_start(
                tenant=request.tenant,
                message=message,
                conversation_id=_conversation_id(body.metadata),
                context=context,
            )
        except ConversationNotFound:
            raise ApiError(
                404,
                "conversation_not_found",
                "No such conversation for this API key.",
                param="metadata.conversation_id",
            ) from None
        ratelimit.charge_reply(request)  # accepted: only now does it spend a reply
        reply = CompletionReply(turn=turn, model=body.model)
        headers = {CONVERSATION_HEADER: str(turn.conversation_id)}
        if body.stream:
            include_usage = bool(body.stream_options and body.stream_options.include_usage)
            return sse_response(event_stream(reply, include_usage=include_usage), headers)
        response = _json(reply.completion(reply_whole(turn)))
        response[CONVERSATION_HEADER] = headers[CONVERSATION_HEADER]
        return response


def _conversation_id(metadata: dict[str, str] | None) -> uuid.UUID | None:
    value = (metadata or {}).get("conversation_id")
    if value is None:
        return None
    try:
        return uuid.UUID(value)
    except ValueError:
        raise ApiError(
            400,
            "invalid_conversation_id",
            "'metadata.conversation_id' must be a UUID (an earlier reply's "
            "metadata.conversation_id).",
            param="metadata.conversation_id",
        ) from None
