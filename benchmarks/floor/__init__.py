"""The floor of the concurrent-replies phase: the least a Django app can do per streamed reply.

One async view streams the upstream's chunks through `AsyncOpenAI` under uvicorn, with no
middleware, no database, no authentication and no metrics; a second view answers a fixed services
document for the probe. Whatever the project does per reply on top of this is its own cost.
"""
