# Redis 7 for local runs and the container tests when no registry can be reached (users with one
# use the official `redis:7`: make REDIS_IMAGE=redis:7). Same interface: port 6379, the command
# line is `redis-server ARGS...`.
ARG BASE_IMAGE=localhost/wazen-base:bookworm
FROM ${BASE_IMAGE}
RUN apt-get update -qq \
    && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends redis-server \
    && rm -rf /var/lib/apt/lists/* \
    && mkdir -p /data && chown redis:redis /data
USER redis
WORKDIR /data
EXPOSE 6379
CMD ["redis-server", "--protected-mode", "no", "--save", "", "--appendonly", "no"]
