"""cachekit: the generational cache component and its Django write path.

- component.py: `GenerationalCache`, one instance per cached entity (plain data, JSON in Redis);
- stores.py, local.py, guard.py: Redis (one pool from REDIS_URL) or one process' memory, the
  per-process local layer, and the breaker that turns a Redis outage into database reads;
- registry.py: the app's instances and the models each depends on (registered at ready());
- writes.py: every ORM write path of a tracked model ends in an invalidation after commit;
- pending.py + models.py: an invalidation that could not reach Redis is recorded in the database,
  in the writer's transaction, and every process bypasses and retries it until it lands.

The component knows no product model: rooms above it (tenancy, catalog) register what they cache.
"""
