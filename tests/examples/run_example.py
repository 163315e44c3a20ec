#!/usr/bin/python3
"""Runs one of the short examples (examples/*.cpp) the way a user would and
checks what it promises, with hostile peers beside the friendly one:
everything in one write, one byte at a time, a reset mid-way, input closed
right behind the data. Every example must then stop on SIGTERM with exit
status 0. Loopback only; every wait is bounded; processes are ended by PID.

    run_example.py echo BINARY            echo_server, actor_echo_server
    run_example.py seed BINARY            seed_example (also its count)
    run_example.py codec BINARY           custom_codec
    run_example.py client CLIENT SERVER   reconnecting_client against echo_server
    run_example.py tls BINARY CERT_DIR    tls_echo_server
    run_example.py metrics BINARY         metrics_server
"""
import os
import re
import signal
import socket
import ssl
import struct
import subprocess
import sys
import threading
import time
import urllib.request

LIMIT = 30  # seconds for any one wait


def fail(why):
    print(f"run_example: FAIL: {why}", flush=True)
    sys.exit(1)


class example:
    """One example process; its stdout is collected line by line."""

    def __init__(self, argv):
        self.argv = argv
        self.proc = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                                     text=True)
        self.lines = []
        self.ended = False  # the output reached its end
        self.changed = threading.Condition()
        threading.Thread(target=self._pump, daemon=True).start()

    def _pump(self):
        for line in self.proc.stdout:
            print(f"[{os.path.basename(self.argv[0])}] {line}", end="", flush=True)
            with self.changed:
                self.lines.append(line)
                self.changed.notify_all()
        with self.changed:
            self.ended = True
            self.changed.notify_all()

    def wait_for(self, pattern, after=0):
        """The first match of `pattern` in a line from index `after` on, and
        that line's index; fails after LIMIT seconds or once the output ended."""
        deadline = time.monotonic() + LIMIT
        with self.changed:
            while True:
                for i in range(after, len(self.lines)):
                    m = re.search(pattern, self.lines[i])
                    if m:
                        return m, i
                left = deadline - time.monotonic()
                if self.ended or left <= 0:
                    break
                self.changed.wait(left)
        fail(f"{self.argv[0]}: no line matching {pattern!r} (exit status {self.proc.poll()})")

    def port(self):
        """The port from the example's 'listening on HOST:PORT' line."""
        m, _ = self.wait_for(r"listening on [0-9.]+:(\d+)")
        return int(m.group(1))

    def stop(self):
        """SIGTERM; the example must exit 0 within LIMIT seconds."""
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
        try:
            status = self.proc.wait(LIMIT)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
            fail(f"{self.argv[0]} did not stop on SIGTERM")
        if status != 0:
            fail(f"{self.argv[0]} exited with {status} after SIGTERM")

    def kill(self):
        """Ends the process at once (cleanup after a failure)."""
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()


def connect(port):
    s = socket.create_connection(("127.0.0.1", port), timeout=LIMIT)
    s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    return s


def recv_exactly(s, n):
    out = bytearray()
    while len(out) < n:
        chunk = s.recv(min(65536, n - len(out)))
        if not chunk:
            fail(f"connection ended after {len(out)} of {n} bytes")
        out += chunk
    return bytes(out)


def recv_to_end(s):
    out = bytearray()
    while True:
        chunk = s.recv(65536)
        if not chunk:
            return bytes(out)
        out += chunk


def check_echo(port):
    """A raw echo, from several kinds of peer."""
    data = os.urandom(256 * 1024)
    # Everything in one write (reading concurrently: the reply is as large).
    with connect(port) as s:
        reader = threading.Thread(target=lambda: got.append(recv_exactly(s, len(data))))
        got = []
        reader.start()
        s.sendall(data)
        reader.join(LIMIT)
        if not got or got[0] != data:
            fail("256 KiB in one write did not come back intact")
    # One byte at a time.
    with connect(port) as s:
        for b in b"one byte at a time":
            s.send(bytes([b]))
            if recv_exactly(s, 1) != bytes([b]):
                fail("a trickled byte came back wrong")
    # Data and the end of input in one go: all of it comes back, then EOF.
    with connect(port) as s:
        s.sendall(b"last words" * 1000)
        s.shutdown(socket.SHUT_WR)
        if recv_to_end(s) != b"last words" * 1000:
            fail("data sent right before a half-close was not all echoed")
    # A reset mid-way, with the echo unread.
    s = connect(port)
    s.sendall(os.urandom(64 * 1024))
    s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    s.close()
    # Many at once, each verified.
    conns = [connect(port) for _ in range(50)]
    for i, s in enumerate(conns):
        s.sendall(f"conn {i}\n".encode())
    for i, s in enumerate(conns):
        if recv_exactly(s, len(f"conn {i}\n")) != f"conn {i}\n".encode():
            fail(f"connection {i} got another's bytes")
        s.close()


def run_echo(binary):
    ex = example([binary, "--port", "0"])
    try:
        check_echo(ex.port())
        ex.stop()
    finally:
        ex.kill()
    ex.wait_for(r"SIGTERM, stopping")


def run_seed(binary):
    ex = example([binary, "--port", "0", "--loops", "2"])
    try:
        port = ex.port()
        check_echo(port)
        # Its count, printed every 2 s: 2 while two peers are connected, 0 after.
        a, b = connect(port), connect(port)
        for s in (a, b):
            s.sendall(b"x")
            recv_exactly(s, 1)
        _, i = ex.wait_for(r"^connections: 2$", len(ex.lines))
        a.close()
        b.close()
        ex.wait_for(r"^connections: 0$", i + 1)
        ex.stop()
    finally:
        ex.kill()


def tlv(kind, payload):
    return bytes([kind]) + struct.pack(">H", len(payload)) + payload


def run_codec(binary):
    ex = example([binary, "--port", "0"])
    try:
        port = ex.port()
        frames = [tlv(7, b"hi"), tlv(1, b""), tlv(200, os.urandom(4096))]
        # Three frames in one write: three answers, each with its type.
        with connect(port) as s:
            s.sendall(b"".join(frames))
            if recv_exactly(s, sum(map(len, frames))) != b"".join(frames):
                fail("frames in one write were not answered in kind")
        # A frame one byte at a time: one answer, once it is whole.
        with connect(port) as s:
            for b in frames[0]:
                s.send(bytes([b]))
            if recv_exactly(s, len(frames[0])) != frames[0]:
                fail("a trickled frame was not answered")
        # Longer than the codec's limit: closed with no answer, before the
        # payload arrives (the header alone says it is too long).
        with connect(port) as s:
            s.sendall(bytes([1]) + struct.pack(">H", 5000))
            try:
                rest = recv_to_end(s)
            except ConnectionResetError:
                rest = b""
            if rest:
                fail(f"an oversized frame was answered: {rest[:20]!r}")
        # And it keeps serving.
        with connect(port) as s:
            s.sendall(frames[0])
            if recv_exactly(s, len(frames[0])) != frames[0]:
                fail("not serving after a bad peer")
        ex.stop()
    finally:
        ex.kill()


def run_client(client_bin, server_bin):
    server = example([server_bin, "--port", "0"])
    client = None
    try:
        port = server.port()
        client = example([client_bin, "--port", str(port), "--every-ms", "50"])
        _, i = client.wait_for(r"^connected to ")
        _, i = client.wait_for(r"^reply: hello \d+$", i)
        server.stop()  # the server goes away: the client notices
        _, i = client.wait_for(r"^disconnected", i)
        server = example([server_bin, "--port", str(port)])  # and comes back
        server.port()
        _, i = client.wait_for(r"^connected to ", i + 1)
        client.wait_for(r"^reply: hello \d+$", i)
        client.stop()
        server.stop()
    finally:
        server.kill()
        if client:
            client.kill()


def run_tls(binary, certs):
    ex = example([binary, "--port", "0", "--cert", f"{certs}/server.pem", "--key",
                  f"{certs}/server.key"])
    try:
        port = ex.port()
        ctx = ssl.create_default_context(cafile=f"{certs}/ca.pem")
        ctx.set_alpn_protocols(["echo"])
        data = os.urandom(1 << 20)
        with ctx.wrap_socket(connect(port), server_hostname="localhost") as s:
            if s.selected_alpn_protocol() != "echo":
                fail(f"ALPN {s.selected_alpn_protocol()!r}")
            # One thread: an SSL socket must not be read and written from two
            # at once. 64 KiB out, its echo back, sixteen times.
            got = bytearray()
            for at in range(0, len(data), 65536):
                s.sendall(data[at:at + 65536])
                got += recv_exactly(s, len(data[at:at + 65536]))
            if bytes(got) != data:
                fail("1 MiB over TLS did not come back intact")
        ex.wait_for(r"TLSv1\.3 \S+ alpn=echo")
        # Plaintext and garbage are not TLS: closed, and it keeps serving.
        for junk in (b"GET / HTTP/1.1\r\nHost: x\r\n\r\n", os.urandom(600)):
            with connect(port) as s:
                s.sendall(junk)
                try:
                    recv_to_end(s)
                except ConnectionResetError:
                    pass
        with ctx.wrap_socket(connect(port), server_hostname="localhost") as s:
            s.sendall(b"still here")
            if recv_exactly(s, 10) != b"still here":
                fail("not serving after bad peers")
        ex.stop()
    finally:
        ex.kill()


def run_metrics(binary):
    ex = example([binary, "--port", "0", "--metrics-port", "0"])
    try:
        m, _ = ex.wait_for(r"listening on [0-9.]+:(\d+), metrics on (http://\S+/metrics)")
        port, url = int(m.group(1)), m.group(2)
        with connect(port) as s:
            s.sendall(b"hello\nsecond line\nthird\n")  # three lines in one write
            s.shutdown(socket.SHUT_WR)
            if recv_to_end(s) != b"HELLO\nSECOND LINE\nTHIRD\n":
                fail("lines were not answered in upper case")
        with urllib.request.urlopen(url, timeout=LIMIT) as r:
            text = r.read().decode()
        for want in (r"^app_lines_total 3$", r"^app_line_bytes_total 21$",
                     r'^fastnet_connections_accepted_total\{server="shout",loop="\d+"\} 1$'):
            if not re.search(want, text, re.M):
                fail(f"/metrics lacks {want}:\n{text}")
        ex.stop()
    finally:
        ex.kill()


def main():
    if len(sys.argv) < 3:
        fail(__doc__)
    what, args = sys.argv[1], sys.argv[2:]
    runs = {"echo": run_echo, "seed": run_seed, "codec": run_codec, "client": run_client,
            "tls": run_tls, "metrics": run_metrics}
    if what not in runs:
        fail(f"unknown check {what}")
    runs[what](*args)
    print(f"run_example: {what} ok", flush=True)


if __name__ == "__main__":
    main()
