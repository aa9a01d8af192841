"""tenancy: the companies on the platform, their API keys, and resolving a key to its company.

Sits on cachekit (a key's resolution is cached) and under catalog and assistant, which act for
the `Tenant` a key resolves to.
"""
