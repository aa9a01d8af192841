"""The scripted OpenAI upstream of test_streaming_front.py, run inside a container of the stack.

It serves testsupport.chat_completions (the package's standard-library modules are mounted
read-only under the container's working directory: `python -B -m testsupport.streaming_upstream`)
on 0.0.0.0:8080, where the app container reaches it by name, and a small control API on
0.0.0.0:8081, published to the host, through which the test queues streamed replies and reads
what the upstream saw of each stream (frames written, whether the client hung up):

- `POST /script` `{"tokens": ["w0 ", ...], "delay": 0.075}`: the next completion request gets a
  stream of these tokens, one frame every `delay` seconds (`stream_frames`);
- `GET /streams`: `[{"frames", "frames_written", "disconnected", "ended"}, ...]` in order served.

Standard library only, so it runs with the app image's own Python and needs nothing installed.
"""

from __future__ import annotations

import json
import signal
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from testsupport.chat_completions import ChatCompletionsServer, Scripted, stream_frames

UPSTREAM_PORT = 8080
CONTROL_PORT = 8081
ANY = "0.0.0.0"  # inside a container: reached from the container network and the host


def control_handler(server: ChatCompletionsServer) -> type[BaseHTTPRequestHandler]:
    class Control(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            if self.path != "/streams":
                self._reply(404, {"error": "not found"})
                return
            self._reply(
                200,
                [
                    {"frames": log.frames, "frames_written": log.frames_written,
                     "disconnected": log.disconnected.is_set(), "ended": log.ended.is_set()}
                    for log in list(server.streams)
                ],
            )  # fmt: skip

        def do_POST(self) -> None:
            if self.path != "/script":
                self._reply(404, {"error": "not found"})
                return
            body = json.loads(self.rfile.read(int(self.headers.get("Content-Length", 0))))
            frames = stream_frames(body["tokens"], delay=float(body["delay"]))
            server.responses.append(Scripted(stream=frames))
            self._reply(200, {"queued": len(server.responses)})

        def _reply(self, status: int, data: object) -> None:
            payload = json.dumps(data).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)

        def log_message(self, *args) -> None:
            pass

    return Control


def main() -> None:
    server = ChatCompletionsServer()
    # The module's server listens on 127.0.0.1 (host-side tests); here it must be reachable from
    # the app container: the same handler, on every interface.
    handler = server.httpd.RequestHandlerClass
    server.httpd.server_close()
    server.httpd = ThreadingHTTPServer((ANY, UPSTREAM_PORT), handler)
    server.httpd.daemon_threads = True
    control = ThreadingHTTPServer((ANY, CONTROL_PORT), control_handler(server))
    control.daemon_threads = True
    threading.Thread(target=control.serve_forever, daemon=True).start()
    # PID 1 of its container: without a handler SIGTERM would be ignored until the engine kills.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    print(f"upstream on :{UPSTREAM_PORT}, control on :{CONTROL_PORT}", flush=True)  # noqa: T201
    server.httpd.serve_forever(poll_interval=0.05)


if __name__ == "__main__":
    main()
