# PostgreSQL 15 for local runs and the container tests when no registry can be reached (users with
# one use the official `postgres:16`: make POSTGRES_IMAGE=postgres:16). The subset of the official
# image's interface the project uses: POSTGRES_USER, POSTGRES_PASSWORD, POSTGRES_DB, PGDATA, port
# 5432, pg_isready, and running under an arbitrary UID (`--user`, a pod's runAsUser): nss_wrapper
# gives initdb the passwd entry it insists on, as in the official image. Data lives in the
# container (or a volume on PGDATA; for another UID, PGDATA must be a directory it can create
# or owns, e.g. a subdirectory of a group-writable volume).
ARG BASE_IMAGE=localhost/wazen-base:bookworm
FROM ${BASE_IMAGE}
RUN apt-get update -qq \
    && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends postgresql-15 libnss-wrapper \
    && rm -rf /var/lib/apt/lists/* \
    && mkdir -p /var/lib/postgresql/data /var/run/postgresql \
    && chown -R postgres:postgres /var/lib/postgresql /var/run/postgresql \
    && chmod 1777 /var/lib/postgresql/data /var/run/postgresql
COPY postgres-entrypoint.sh /usr/local/bin/postgres-entrypoint.sh
ENV PATH=/usr/lib/postgresql/15/bin:$PATH \
    PGDATA=/var/lib/postgresql/data
USER postgres
EXPOSE 5432
STOPSIGNAL SIGINT
ENTRYPOINT ["/usr/local/bin/postgres-entrypoint.sh"]
CMD ["postgres"]
