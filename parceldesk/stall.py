"""A stalling proxy for Rasa's action calls: one conversation's actions hang, every other's go through.

Used by `parceldesk bench --load N --hung` (parceldesk/hungbench.py) and by the end-to-end test of a hung action
(tests/e2e/test_hung_and_killed.py). It sits on the port Rasa calls actions on and forwards to the real action
server on another port, except that a call for a stalled sender is never answered (until `release` is set).
Nothing in the application knows about it.
"""

from __future__ import annotations

import asyncio
import json
from dataclasses import dataclass, field

import httpx


@dataclass
class StallingProxy:
    """An HTTP/1.1 proxy for Rasa's action calls: forwards to the real action server, except that a call for a
    stalled sender never gets an answer (a hung action, for that one conversation only)."""

    upstream: str
    stalled_senders: set[str]
    stalled_calls: list[str] = field(default_factory=list)
    forwarded: list[str] = field(default_factory=list)
    release: asyncio.Event = field(default_factory=asyncio.Event)

    async def handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        """Serve the requests of one keep-alive connection from Rasa, in order."""
        async with httpx.AsyncClient(base_url=self.upstream, timeout=60) as client:
            try:
                while True:
                    head = await reader.readuntil(b"\r\n\r\n")
                    request_line, *header_lines = head.decode("latin-1").split("\r\n")
                    method, path, _ = request_line.split(" ", 2)
                    headers = dict(line.split(": ", 1) for line in header_lines if ": " in line)
                    length = int(next((v for k, v in headers.items() if k.lower() == "content-length"), "0"))
                    body = await reader.readexactly(length)
                    sender = str(json.loads(body).get("sender_id")) if body else ""
                    if sender in self.stalled_senders:
                        self.stalled_calls.append(sender)
                        await self.release.wait()  # never answered while the stall lasts
                        return
                    self.forwarded.append(sender)
                    keep = {k: v for k, v in headers.items() if k.lower() not in ("host", "content-length")}
                    response = await client.request(method, path, content=body, headers=keep)
                    writer.write(
                        f"HTTP/1.1 {response.status_code} {response.reason_phrase}\r\n"
                        f"Content-Type: {response.headers.get('content-type', 'application/json')}\r\n"
                        f"Content-Length: {len(response.content)}\r\n\r\n".encode("latin-1")
                        + response.content
                    )
                    await writer.drain()
            except (asyncio.IncompleteReadError, ConnectionError):
                pass
            finally:
                writer.close()
