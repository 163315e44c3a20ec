#!/usr/bin/python3
"""An independent WebSocket server (Debian's python3-websockets) for fastnet's
WebSocket client: echoes text as text and binary as binary; on a text
"ping-me:<payload>" pings the client and, once the matching pong is back,
sends "pong-ok:<payload>"; prints "closed <code> <reason>" for each close it
receives. Prints "listening <port>" once it accepts.

    /usr/bin/python3 ws_server.py [CERT_FILE KEY_FILE]

With a certificate and key it serves wss://.
"""
import asyncio
import signal
import ssl
import sys

import websockets


async def handler(ws, _path=None):
    try:
        async for message in ws:
            if isinstance(message, str) and message.startswith("ping-me:"):
                payload = message[len("ping-me:"):]
                # The waiter resolves only on a pong carrying this payload.
                pong = await ws.ping(payload.encode())
                await asyncio.wait_for(pong, 10)
                await ws.send("pong-ok:" + payload)
            else:
                await ws.send(message)
    except websockets.ConnectionClosedError:
        pass  # any code but 1000/1001 ends the loop so; the line below reports it
    finally:
        print(f"closed {ws.close_code} {ws.close_reason}", flush=True)


async def main():
    stop = asyncio.get_running_loop().create_future()
    asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, stop.set_result, None)
    tls = None
    if len(sys.argv) > 2:
        tls = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        tls.load_cert_chain(sys.argv[1], sys.argv[2])
    async with websockets.serve(handler, "127.0.0.1", 0, max_size=None,
                                compression=None, ssl=tls) as server:
        port = server.sockets[0].getsockname()[1]
        print(f"listening {port}", flush=True)
        await stop


if __name__ == "__main__":
    asyncio.run(main())
