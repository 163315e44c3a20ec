#!/usr/bin/python3
"""An independent WebSocket client (Debian's python3-websockets) against a
fastnet echo server: text, binary from 1 B to 16 MiB, ping/pong and the close
handshake, every byte compared. Exits 0 when every exchange matched.

    /usr/bin/python3 ws_client.py ws://127.0.0.1:PORT/
    /usr/bin/python3 ws_client.py wss://HOST:PORT/ CA_FILE

Over wss:// only CA_FILE is trusted and the certificate must name HOST.
"""
import asyncio
import random
import ssl
import sys

import websockets

MIB = 1 << 20
BINARY_SIZES = [1, 2, 125, 126, 127, 65535, 65536, 65537, MIB + 7, 16 * MIB]


def fail(why):
    print(f"ws_client.py: FAIL: {why}", file=sys.stderr)
    sys.exit(1)


async def expect_echo(ws, payload, name):
    await ws.send(payload)
    got = await ws.recv()
    if type(got) is not type(payload):
        fail(f"{name}: got {type(got).__name__}, sent {type(payload).__name__}")
    if got != payload:
        fail(f"{name}: {len(got)} units differ from the {len(payload)} sent")
    print(f"ok {name}", flush=True)


async def main(url, ca_file=None):
    # A context that checks the chain and the URL's host (name or IP address).
    tls = ssl.create_default_context(cafile=ca_file) if ca_file else None
    # No compression, no size limit: the server's own limit is under test.
    async with websockets.connect(url, max_size=None, compression=None, ssl=tls,
                                  open_timeout=10, close_timeout=10) as ws:
        if tls:
            print(f"ok wss handshake {ws.transport.get_extra_info('ssl_object').version()}",
                  flush=True)
        await expect_echo(ws, "hello", 'text "hello"')
        await expect_echo(ws, "", "empty text")
        await expect_echo(ws, "h\u00e9llo w\u00f6rld \u2713 \U0001F680", "utf-8 text")
        await expect_echo(ws, "x" * 100000, "text 100000 B")
        rng = random.Random(1)  # seeded: every run sends the same bytes
        for size in BINARY_SIZES:
            await expect_echo(ws, rng.randbytes(size), f"binary {size} B")

        # The waiter resolves only on a pong carrying this payload.
        pong = await ws.ping(b"are you there?")
        await asyncio.wait_for(pong, 10)
        print("ok ping/pong", flush=True)

        await ws.close(code=4000, reason="bye")
        if ws.close_code != 4000:
            fail(f"close code {ws.close_code} (reason {ws.close_reason!r})")
        print(f"ok close {ws.close_code}", flush=True)
    print("ws_client.py: all exchanges verified", flush=True)


if __name__ == "__main__":
    asyncio.run(asyncio.wait_for(main(*sys.argv[1:3]), 120))
