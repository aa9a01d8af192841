#!/bin/sh
# Container entrypoint (docs/runtime-contract.md):
#   web             gunicorn (default; extra arguments go to gunicorn)
#   migrate         wait for the database (DB_WAIT_TIMEOUT s), then migrate under an advisory lock
#   manage ARGS...  python manage.py ARGS...
#   seed-demo       create the demo company; prints WAZEN_DEMO_API_KEY=<key>
#   anything else   executed as given (e.g. `sh`)
set -eu

cd /app

# One-off management commands keep their metrics in memory: the multiprocess directory belongs
# to the gunicorn master, which would otherwise aggregate (and never clean) their files.
one_off() {
    unset PROMETHEUS_MULTIPROC_DIR
}

command="${1:-web}"
[ "$#" -gt 0 ] && shift

case "$command" in
    web)
        exec gunicorn --config /app/docker/gunicorn.conf.py "$@" config.wsgi:application
        ;;
    migrate)
        one_off
        python manage.py wait_for_database --timeout "${DB_WAIT_TIMEOUT:-60}"
        exec python manage.py migrate_locked --noinput "$@"
        ;;
    manage)
        one_off
        exec python manage.py "$@"
        ;;
    seed-demo)
        one_off
        exec python manage.py seed_demo "$@"
        ;;
    *)
        exec "$command" "$@"
        ;;
esac
