#!/bin/sh
# Container entrypoint (docs/runtime-contract.md):
#   web             nginx on PORT buffering requests for gunicorn (default; extra arguments go
#                   to gunicorn); WAZEN_BUFFERING_PROXY=false: gunicorn alone on PORT
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

# Run a command as a child that gets our SIGTERM/SIGINT. As PID 1 this shell would otherwise
# ignore SIGTERM (no default action for a namespace's init), and the pod would stay Terminating
# for its whole grace period. Returns the child's status (143 when it was terminated).
run_child() {
    "$@" &
    child=$!
    trap 'kill -TERM "$child" 2>/dev/null' TERM INT
    status=0
    wait "$child" || status=$?
    if [ "$status" -gt 128 ] && kill -0 "$child" 2>/dev/null; then
        # `wait` was interrupted by the trap: wait again for the child's own exit.
        status=0
        wait "$child" || status=$?
    fi
    trap - TERM INT
    return "$status"
}

command="${1:-web}"
[ "$#" -gt 0 ] && shift

case "$command" in
    web)
        # nginx buffers whole requests in front of gunicorn (docker/supervise.py says why);
        # WAZEN_BUFFERING_PROXY=false serves gunicorn directly on PORT.
        if [ "${WAZEN_BUFFERING_PROXY:-true}" = "false" ]; then
            exec gunicorn --config /app/docker/gunicorn.conf.py "$@" config.wsgi:application
        fi
        exec python /app/docker/supervise.py "$@"
        ;;
    migrate)
        one_off
        run_child python manage.py wait_for_database --timeout "${DB_WAIT_TIMEOUT:-60}"
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
