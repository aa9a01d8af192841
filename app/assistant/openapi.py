"""OpenAPI 3.1 description of the public JSON API, served at /api/v1/openapi.json."""

from __future__ import annotations

from typing import Any

from assistant.contract import CHAT_REQUEST


def _error(description: str) -> dict[str, Any]:
    return {
        "description": description,
        "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}},
    }


def openapi_schema() -> dict[str, Any]:
    auth_errors = {
        "401": _error("Missing, unknown or revoked API key."),
        "429": _error(
            "Rate limit (per API key or company, per minute) or daily reply quota reached; "
            "see the Retry-After header."
        ),
    }
    unavailable = {"503": _error("The database is unreachable; see the Retry-After header.")}
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "Wazen AI assistant API",
            "version": "1",
            "description": "Chat with a company's assistant and read its orderable services.",
        },
        "servers": [{"url": "/"}],
        "security": [{"bearerAuth": []}],
        "paths": {
            "/api/v1/chat": {
                "post": {
                    "summary": "Send a customer message and get the assistant's reply",
                    "requestBody": {
                        "required": True,
                        "content": {
                            "application/json": {
                                "schema": {"$ref": "#/components/schemas/ChatRequest"}
                            }
                        },
                    },
                    "responses": {
                        "200": {
                            "description": "The reply (and the order, if one was placed).",
                            "content": {
                                "application/json": {
                                    "schema": {"$ref": "#/components/schemas/ChatResponse"}
                                }
                            },
                        },
                        "400": _error("Malformed JSON, missing/empty message, bad fields."),
                        **auth_errors,
                        "404": _error("Unknown conversation, or one of another company."),
                        "405": _error("Method not allowed."),
                        "413": _error("Message or body over the documented limit."),
                        "415": _error("Body is not application/json."),
                        **unavailable,
                    },
                }
            },
            "/api/v1/services": {
                "get": {
                    "summary": "The company's orderable services (cached catalog)",
                    "parameters": [
                        {
                            "name": "lang",
                            "in": "query",
                            "required": False,
                            "description": "Language of `name` and `description` (else "
                            "Accept-Language decides; English by default).",
                            "schema": {"type": "string", "enum": ["en", "ar"]},
                        },
                        {
                            "name": "Accept-Language",
                            "in": "header",
                            "required": False,
                            "schema": {"type": "string"},
                        },
                    ],
                    "responses": {
                        "200": {
                            "description": "The catalog.",
                            "content": {
                                "application/json": {
                                    "schema": {"$ref": "#/components/schemas/Catalog"}
                                }
                            },
                        },
                        "400": _error("Unsupported `lang`."),
                        **auth_errors,
                        "405": _error("Method not allowed."),
                        **unavailable,
                    },
                }
            },
        },
        "components": {
            "securitySchemes": {"bearerAuth": {"type": "http", "scheme": "bearer"}},
            "schemas": {
                "ChatRequest": CHAT_REQUEST.schema(),
                "ChatResponse": {
                    "type": "object",
                    "required": ["reply", "conversation_id"],
                    "properties": {
                        "reply": {"type": "string"},
                        "conversation_id": {"type": "string", "format": "uuid"},
                        "language": {
                            "type": "string",
                            "enum": ["en", "ar"],
                            "description": "the reply's language (ar: render right to left)",
                        },
                        "order": {"$ref": "#/components/schemas/Order"},
                    },
                },
                "Order": {
                    "type": "object",
                    "properties": {
                        "id": {"type": "integer"},
                        "service_id": {"type": "integer"},
                        "service_name": {"type": "string"},
                        "price": {"type": "string", "description": "decimal"},
                        "currency": {"type": "string"},
                        "status": {"type": "string", "enum": ["placed", "confirmed", "cancelled"]},
                    },
                },
                "Service": {
                    "type": "object",
                    "properties": {
                        "id": {"type": "integer"},
                        "name": {"type": "string", "description": "in the chosen language"},
                        "description": {"type": "string", "description": "chosen language"},
                        "names": {"$ref": "#/components/schemas/Texts"},
                        "descriptions": {"$ref": "#/components/schemas/Texts"},
                        "price": {"type": "string", "description": "decimal"},
                        "currency": {"type": "string"},
                        "category": {"type": "string"},
                    },
                },
                "Texts": {
                    "type": "object",
                    "description": "The text in each language; '' where none was written.",
                    "properties": {"en": {"type": "string"}, "ar": {"type": "string"}},
                },
                "Catalog": {
                    "type": "object",
                    "properties": {
                        "language": {"type": "string", "enum": ["en", "ar"]},
                        "company": {
                            "type": "object",
                            "properties": {"slug": {"type": "string"}, "name": {"type": "string"}},
                        },
                        "services": {
                            "type": "array",
                            "items": {"$ref": "#/components/schemas/Service"},
                        },
                    },
                },
                "Error": {
                    "type": "object",
                    "required": ["error"],
                    "properties": {
                        "error": {
                            "type": "object",
                            "required": ["code", "message"],
                            "properties": {
                                "code": {"type": "string"},
                                "message": {"type": "string"},
                            },
                        }
                    },
                },
            },
        },
    }
