"""A TCP relay in front of a real server that can hold back the responses of chosen connections.

Holding a response past the client's timeout is the fault a retry is most dangerous after: the
server has done the work (an order is placed), the client never hears so and tries again."""

from __future__ import annotations

import asyncio
import threading
from collections import deque


class FaultProxy:
    def __init__(self, target_host: str, target_port: int) -> None:
        self.target = (target_host, target_port)
        self.connections = 0
        self.request_lines: list[str] = []
        self._delays: deque[float] = deque()
        self._loop = asyncio.new_event_loop()
        self._server: asyncio.base_events.Server | None = None
        self._thread = threading.Thread(target=self._loop.run_forever, daemon=True)
        self.port = 0
        self._handlers: set[asyncio.Task] = set()
        self._writers: list[asyncio.StreamWriter] = []

    def __enter__(self) -> FaultProxy:
        self._thread.start()
        self._server = asyncio.run_coroutine_threadsafe(
            asyncio.start_server(self._handle, "127.0.0.1", 0), self._loop
        ).result(10)
        self.port = self._server.sockets[0].getsockname()[1]
        return self

    def __exit__(self, *exc: object) -> None:
        async def shutdown() -> None:
            self._server.close()
            for writer in self._writers:  # ends every relay: its reads see the connection closed
                writer.close()
            await asyncio.wait(self._handlers, timeout=5) if self._handlers else None

        asyncio.run_coroutine_threadsafe(shutdown(), self._loop).result(10)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(10)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def hold_responses(self, *seconds: float) -> None:
        """The next connections' responses are held back this long each (one value per connection)."""
        self._delays.extend(seconds)

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.connections += 1
        task = asyncio.current_task()
        self._handlers.add(task)
        task.add_done_callback(self._handlers.discard)
        delay = self._delays.popleft() if self._delays else 0.0
        self._writers.append(writer)
        try:
            up_reader, up_writer = await asyncio.open_connection(*self.target)
        except OSError:
            writer.close()
            return
        self._writers.append(up_writer)

        async def upstream() -> None:
            first = True
            while data := await reader.read(65536):
                if first:
                    self.request_lines.append(data.split(b"\r\n", 1)[0].decode("latin-1"))
                    first = False
                up_writer.write(data)
                await up_writer.drain()
            if up_writer.can_write_eof():
                up_writer.write_eof()  # the server still finishes and answers what it has received

        async def downstream() -> None:
            data = await up_reader.read(65536)
            if delay:
                await asyncio.sleep(delay)
            while data:
                if not writer.is_closing():
                    try:
                        writer.write(data)
                        await writer.drain()
                    except ConnectionError:
                        writer.close()  # the client gave up; drain the server's answer anyway
                data = await up_reader.read(65536)
            writer.close()

        # a side closing early (the client timed out) is the point, not an error
        await asyncio.gather(upstream(), downstream(), return_exceptions=True)
        for w in (writer, up_writer):
            w.close()
