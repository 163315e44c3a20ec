#!/usr/bin/python3
"""An independent TLS client (Python's ssl module) against fastnet's
echo_server --tls-cert/--tls-key: trusts only the test CA, checks the
server's name, compares every echoed byte from 1 B to 16 MiB, and ends with
close_notify. (tests/tls_test.cpp drives python ssl against the library;
this is the example binary, in both modes.) Exits 0 when all matched.

    /usr/bin/python3 tls_client.py PORT CA_FILE
"""
import asyncio
import random
import ssl
import sys

MIB = 1 << 20
SIZES = [1, 2, 1000, 16384, 16385, 65537, MIB + 7, 16 * MIB]


def fail(why):
    print(f"tls_client.py: FAIL: {why}", file=sys.stderr, flush=True)
    sys.exit(1)


async def main(port, ca_file):
    ctx = ssl.create_default_context(cafile=ca_file)  # verifies chain and name
    # The name to check; asyncio connects to 127.0.0.1 and sends it as SNI.
    reader, writer = await asyncio.open_connection("127.0.0.1", port, ssl=ctx,
                                                   server_hostname="localhost")
    tls = writer.get_extra_info("ssl_object")
    print(f"ok handshake {tls.version()} {tls.cipher()[0]}, server verified", flush=True)
    rng = random.Random(1)  # seeded: every run sends the same bytes
    for size in SIZES:
        payload = rng.randbytes(size)
        # The write is buffered by the transport and drained in a task while
        # the echo is read: no deadlock at 16 MiB.
        writer.write(payload)
        drain = asyncio.create_task(writer.drain())
        try:
            got = await reader.readexactly(size)
        except asyncio.IncompleteReadError as e:
            fail(f"echo {size} B: the server ended after {len(e.partial)} bytes")
        await drain
        if got != payload:
            fail(f"echo {size} B: the bytes echoed differ")
        print(f"ok echo {size} B", flush=True)
    writer.close()  # close_notify, then FIN
    await writer.wait_closed()
    print("tls_client.py: all exchanges verified", flush=True)


if __name__ == "__main__":
    asyncio.run(asyncio.wait_for(main(int(sys.argv[1]), sys.argv[2]), 120))
