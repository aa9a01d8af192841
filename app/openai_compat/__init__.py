"""The OpenAI-compatible API (/v1/…): any OpenAI client (the official SDKs, LangChain, chat
widgets, Open WebUI) talks to a company's assistant with only the base URL and the key changed.

It is a second face of the same reply pipeline as /api/v1/chat (assistant/services.py): one
catalog snapshot per reply, orders re-checked in the database, the same rate limits, deadline and
metrics, and errors in OpenAI's shape.
"""
