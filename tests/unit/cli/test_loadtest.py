"""``run_load`` against a real HTTP server on a local socket: counts, keep-alive, reconnects, errors."""

from __future__ import annotations

import asyncio

from fraudguard.cli.loadtest import run_load


async def _serve(script: list[str]) -> tuple[asyncio.Server, list[bytes], list[int]]:
    """A server answering requests in order with ``script`` (status, or "close" to hang up)."""
    seen: list[bytes] = []
    connections = [0]
    order = iter(script * 1000)

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        connections[0] += 1
        try:
            while True:
                head = await reader.readuntil(b"\r\n\r\n")
                length = next(
                    int(line.split(b":")[1])
                    for line in head.split(b"\r\n")
                    if line.lower().startswith(b"content-length")
                )
                seen.append(head.split(b"\r\n")[0] + b" " + await reader.readexactly(length))
                what = next(order)
                if what == "close":
                    writer.close()
                    return
                body = b'{"ok":true}'
                extra = b"Connection: close\r\n" if what == "200-close" else b""
                status = what.split("-")[0].encode()
                writer.write(b"HTTP/1.1 " + status + b" X\r\nContent-Length: 11\r\n" + extra + b"\r\n" + body)
                await writer.drain()
                if extra:
                    writer.close()
                    return
        except (asyncio.IncompleteReadError, ConnectionError):
            writer.close()

    server = await asyncio.start_server(handle, "127.0.0.1", 0)
    return server, seen, connections


def _url(server: asyncio.Server) -> str:
    return f"http://127.0.0.1:{server.sockets[0].getsockname()[1]}"


def test_every_payload_sent_once_over_kept_alive_connections() -> None:
    async def main() -> tuple[object, list[bytes], int]:
        server, seen, conns = await _serve(["200"])
        async with server:
            res = await run_load(_url(server), [b"p%d" % i for i in range(300)], 7, api_key="k", record=True)
        return res, seen, conns[0]

    res, seen, conns = asyncio.run(main())
    assert res.summary()["ok"] == 300 and not res.errors  # type: ignore[attr-defined]
    assert sorted(seen) == sorted(b"POST /v1/score?record=true HTTP/1.1 p%d" % i for i in range(300))
    assert conns == 7


def test_statuses_and_hang_ups_are_counted_and_reconnected() -> None:
    async def main() -> object:
        server, _, _ = await _serve(["200", "500", "close", "200-close", "429"])
        async with server:
            return await run_load(_url(server), [b"x"] * 50, 1, timeout_s=5)

    res = asyncio.run(main())
    assert res.summary()["ok"] == 20  # type: ignore[attr-defined]
    assert dict(res.errors) == {"http_500": 10, "connection": 10, "http_429": 10}  # type: ignore[attr-defined]


def test_refused_connection_is_an_error_not_a_crash() -> None:
    async def main() -> object:
        server = await asyncio.start_server(lambda r, w: None, "127.0.0.1", 0)
        url = _url(server)
        server.close()
        await server.wait_closed()
        return await run_load(url, [b"x"] * 3, 2, timeout_s=2)

    res = asyncio.run(main())
    assert dict(res.errors) == {"connection": 3}  # type: ignore[attr-defined]
