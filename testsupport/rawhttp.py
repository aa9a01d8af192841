"""Requests sent as raw bytes (malformed request lines, odd headers) and their parsed answers."""

from __future__ import annotations

import http.client
import socket


def send_raw(port: int, data: bytes, *, timeout: float = 15) -> tuple[int, str, bytes]:
    """Send bytes as they are; the status, Content-Type and body (chunked or not)."""
    with socket.create_connection(("127.0.0.1", port), timeout=timeout) as sock:
        sock.sendall(data)
        response = http.client.HTTPResponse(sock)
        response.begin()
        return response.status, response.getheader("Content-Type", ""), response.read()
