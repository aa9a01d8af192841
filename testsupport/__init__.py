"""Test support shared by every suite of the repository: app/tests, charts/wazen-ai/tests,
docker/tests, k8s-tests and the benchmarks (`python -m benchmarks`).

Installed into the dev venv by `make venv` (an editable install of this package alone: the
project's distribution ships no other package; the container image installs requirements.lock
only and never gets it). No suite finds it through path edits or pytest's pythonpath.

- `servers`: real throwaway redis-server, PostgreSQL and Prometheus processes on free ports;
- `live_server`: the app under real gunicorn (docker/gunicorn.conf.py), as the image runs it;
- `chat_completions`: a scripted OpenAI-compatible upstream (plain and streamed replies);
- `streaming_upstream`: that upstream as a container's entry point, with a control API;
- `fixtures`: the pytest plugin of process fixtures (loaded by the root conftest.py);
- `chart`: helm rendering and the chart's objects, the chart scripts' app, a fake API server;
- `k8s`: what the kind suite and its local twin share (scenarios, chart readers, prober,
  clients, suite values) and their two stand-ups (`cluster`, `twin`).

Standard library only in this file and in `chat_completions` / `streaming_upstream`: those two
also run with the app image's bare Python (docker/tests/test_streaming_front.py).
"""
