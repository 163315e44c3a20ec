#!/usr/bin/python3
"""Runs one interop case for ctest: starts a WebSocket server process, waits
for its "listening" line, runs a client process against it, and ends the
server by its PID. Every case is bounded in time. /usr/bin/python3 only
(standard library here; the python peers need Debian's python3-websockets).

    run_interop.py server ECHO_SERVER MODE npm|python
        build/examples/ws_echo_server --mode MODE, against the npm ws client
        (ws_client.mjs) or python3-websockets (ws_client.py).
    run_interop.py client WS_INTEROP_CLIENT npm|python
        fastnet's WebSocket client against ws_server.mjs or ws_server.py.
    run_interop.py chat CHAT_SERVER [CERTS]
        chat_server --ws-port: headless chromium (chat_browser.mjs) and a TCP
        client (this script) in the same room see each other's lines. With
        CERTS (scripts/make_test_certs.sh's directory) over TLS: the page
        over https, the chat over wss://, the TCP clients over TLS.

TLS cases (CERTS as above; every peer trusts only CERTS/ca.pem):
    run_interop.py tls-server ECHO_SERVER MODE npm|python CERTS
        bench/echo_server --tls-cert --mode MODE against node's tls
        (tls_client.mjs) or Python's ssl (tls_client.py), 1 B to 16 MiB.
    run_interop.py tls-client TLS_INTEROP_CLIENT CERTS
        fastnet's TLS client against node's tls server (tls_server.mjs).
    run_interop.py wss-server WS_ECHO_SERVER MODE npm|python CERTS
        ws_echo_server --tls-cert --mode MODE against ws_client.mjs/.py on wss://.
    run_interop.py wss-client WS_INTEROP_CLIENT npm|python CERTS
        fastnet's WebSocket client on wss:// against ws_server.mjs/.py.
"""
import os
import re
import signal
import socket
import ssl
import subprocess
import sys
import threading

HERE = os.path.dirname(os.path.abspath(__file__))
PYTHON = "/usr/bin/python3"  # Debian's python packages are seen by this one only
LIMIT = 120  # seconds for a whole exchange; a hang fails instead of stalling ctest


def fail(why):
    print(f"run_interop: FAIL: {why}", flush=True)
    sys.exit(1)


def check_prerequisites(peer):
    if peer == "npm":
        if not os.path.isdir(os.path.join(HERE, "node_modules", "ws")):
            fail("tests/interop/node_modules/ws is missing: run scripts/setup.sh")
    elif subprocess.run([PYTHON, "-c", "import websockets"]).returncode != 0:
        fail("python3-websockets is missing: run scripts/setup.sh")


class server_process:
    """A server started with stdout piped, its port taken from the line
    matching `port_re`; everything it prints is kept for later checks."""

    def __init__(self, argv, port_re):
        self.proc = subprocess.Popen(argv, stdout=subprocess.PIPE, text=True)
        self.lines = []
        self.port = None
        ready = threading.Event()

        def pump():
            for line in self.proc.stdout:
                print(f"[server] {line}", end="", flush=True)
                self.lines.append(line)
                m = re.search(port_re, line)
                if m and self.port is None:
                    self.port = int(m.group(1))
                    ready.set()
            ready.set()  # EOF: the server died before (or after) listening

        self.reader = threading.Thread(target=pump, daemon=True)
        self.reader.start()
        ready.wait(30)
        if self.port is None:
            self.stop()
            fail(f"{argv[0]} printed no listening line")

    def stop(self):
        """SIGTERM by PID, then SIGKILL if it does not exit; returns its status."""
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.reader.join(5)
        return self.proc.returncode


def run_client(argv):
    print("run_interop: " + " ".join(argv), flush=True)
    try:
        return subprocess.run(argv, timeout=LIMIT).returncode
    except subprocess.TimeoutExpired:
        fail(f"client still running after {LIMIT} s")  # run() killed it


class line_client:
    """A TCP client of the line-based chat, over TLS when given a context
    (which checks the name "localhost"); every read bounded by LIMIT."""

    def __init__(self, port, tls=None):
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=LIMIT)
        if tls:
            self.sock = tls.wrap_socket(self.sock, server_hostname="localhost")
        self.buffer = b""
        self.ended_by = "chat closed the TCP connection"  # why a read can see EOF

    def send(self, line):
        self.sock.sendall(line.encode() + b"\n")

    def end_reads(self, why):
        """Makes a read blocked in another thread return (EOF). The plain
        socket's shutdown: SSLSocket's own would drop its TLS state under
        that thread."""
        self.ended_by = why
        try:
            socket.socket.shutdown(self.sock, socket.SHUT_RDWR)
        except OSError:
            pass  # already closed

    def wait_for(self, pattern):
        """Reads lines until one matches `pattern`; returns the match."""
        while True:
            while b"\n" not in self.buffer:
                try:
                    chunk = self.sock.recv(65536)  # socket.timeout after LIMIT
                except OSError as e:  # ssl.SSLError included
                    fail(f"{self.ended_by} before {pattern!r}: {e!r}")
                if not chunk:
                    fail(f"{self.ended_by} before {pattern!r}")
                self.buffer += chunk
            line, self.buffer = self.buffer.split(b"\n", 1)
            text = line.decode().rstrip("\r")
            print(f"[tcp] {text}", flush=True)
            m = re.fullmatch(pattern, text)
            if m:
                return m


def chat_case(chat_server, certs=None):
    check_prerequisites("npm")
    if not os.path.isdir(os.path.join(HERE, "node_modules", "playwright-core")):
        fail("tests/interop/node_modules/playwright-core is missing: run scripts/setup.sh")
    argv = [chat_server, "--host", "127.0.0.1", "--port", "0", "--ws-port", "0"]
    tls = None
    if certs:
        argv += tls_server_flags(certs)
        tls = ssl.create_default_context(cafile=os.path.join(certs, "ca.pem"))
    server = server_process(argv, r"listening on 127\.0\.0\.1:(\d+)")
    browser = None
    try:
        ws_port = next(int(m.group(1)) for m in (re.search(r"websocket on 127\.0\.0\.1:(\d+)", l)
                                                  for l in server.lines) if m)
        tcp = line_client(server.port, tls)
        me = tcp.wait_for(r"\* (guest\d+) joined").group(1)
        # A second TCP client: connection ids 1 and 2 on the TCP server, as
        # the page load and the WebSocket get on the WebSocket server; the
        # chat must keep them apart (nick and room membership).
        other = line_client(server.port, tls)
        other.wait_for(r"\* (guest\d+) joined")
        browse = ([f"https://127.0.0.1:{ws_port}/", os.path.join(certs, "server.pem")] if certs
                  else [f"http://127.0.0.1:{ws_port}/"])
        browser = subprocess.Popen(["node", os.path.join(HERE, "chat_browser.mjs")] + browse,
                                   stdout=subprocess.PIPE, text=True)

        def watch(proc=browser):
            # A browser that fails ends the TCP clients' reads at once, instead
            # of leaving them to wait LIMIT for a line that cannot come.
            if proc.wait() != 0:
                tcp.end_reads(f"chat_browser.mjs exited with {proc.returncode}")
                other.end_reads(f"chat_browser.mjs exited with {proc.returncode}")

        threading.Thread(target=watch, daemon=True).start()
        # The browser's member announces itself to the room the TCP clients are in.
        nick = tcp.wait_for(r"\* (web\d+) joined").group(1)
        other.wait_for(re.escape(f"* {nick} joined"))
        tcp.send("hello from tcp")
        tcp.wait_for(re.escape(f"{me}: hello from tcp"))
        tcp.wait_for(re.escape(f"{nick}: hello from the browser"))
        other.wait_for(re.escape(f"{me}: hello from tcp"))
        other.wait_for(re.escape(f"{nick}: hello from the browser"))
        print(f"ok both TCP clients saw {nick}'s line from the browser", flush=True)
        out, _ = browser.communicate(timeout=LIMIT)
        print(out, end="", flush=True)
        if browser.returncode != 0:
            fail(f"chat_browser.mjs exited with {browser.returncode}")
        if f"browser joined as {nick}" not in out:
            fail(f"the browser did not report joining as {nick}")
    finally:
        if browser and browser.poll() is None:
            browser.kill()  # by PID; playwright's chromium dies with its pipe
            browser.wait()
        status = server.stop()
    if status != 0:
        fail(f"chat_server exited with {status} on SIGTERM")


def tls_server_flags(certs):
    """The examples' flags for the test server certificate (localhost, 127.0.0.1)."""
    return ["--tls-cert", os.path.join(certs, "server.pem"),
            "--tls-key", os.path.join(certs, "server.key")]


def run_against(server, client, name):
    """Runs `client` while `server` serves; ends the server by PID; fails
    unless both ended well (the server exits 0 on SIGTERM)."""
    try:
        rc = run_client(client)
    finally:
        status = server.stop()
    if rc != 0:
        fail(f"client exited with {rc}")
    if status != 0:
        fail(f"{name} exited with {status} on SIGTERM")


def tls_main(argv):
    """The TLS cases; False when `argv` is none of them."""
    if len(argv) >= 5 and argv[0] in ("tls-server", "wss-server"):
        server_bin, mode, peer, certs = argv[1:5]
        check_prerequisites(peer)
        ca = os.path.join(certs, "ca.pem")
        server = server_process([server_bin, "--host", "127.0.0.1", "--port", "0", "--mode", mode]
                                + tls_server_flags(certs), r"listening on 127\.0\.0\.1:(\d+)")
        if argv[0] == "tls-server":
            script = "tls_client.mjs" if peer == "npm" else "tls_client.py"
            args = [str(server.port), ca]
        else:
            # npm checks the DNS name, python the IP address (both in the SAN).
            script = "ws_client.mjs" if peer == "npm" else "ws_client.py"
            host = "localhost" if peer == "npm" else "127.0.0.1"
            args = [f"wss://{host}:{server.port}/", ca]
        run_against(server, ["node" if peer == "npm" else PYTHON, os.path.join(HERE, script)] + args,
                    os.path.basename(server_bin))
    elif len(argv) >= 3 and argv[0] == "tls-client":
        fastnet_client, certs = argv[1:3]
        check_prerequisites("npm")
        server = server_process(["node", os.path.join(HERE, "tls_server.mjs"),
                                 os.path.join(certs, "server.pem"),
                                 os.path.join(certs, "server.key")], r"^listening (\d+)")
        run_against(server, [fastnet_client, str(server.port), os.path.join(certs, "ca.pem"),
                             "localhost"], "tls_server.mjs")
        # The SNI we sent, and our close_notify/FIN after every byte (the sum
        # of tls_interop_client's sizes) was echoed.
        if "sni localhost\n" not in server.lines:
            fail("the server did not see SNI \"localhost\"")
        total = 1 + 2 + 1000 + 16384 + 16385 + 65537 + (1 << 20) + 7 + (16 << 20)
        if f"ended {total}\n" not in server.lines:
            fail(f"the server did not see our end after {total} bytes")
        print(f"ok the peer saw SNI localhost and our end after {total} bytes")
    elif len(argv) >= 4 and argv[0] == "wss-client":
        fastnet_client, peer, certs = argv[1:4]
        check_prerequisites(peer)
        server_argv = (["node", os.path.join(HERE, "ws_server.mjs")] if peer == "npm" else
                       [PYTHON, os.path.join(HERE, "ws_server.py")])
        server = server_process(server_argv + [os.path.join(certs, "server.pem"),
                                               os.path.join(certs, "server.key")],
                                r"^listening (\d+)")
        host = "localhost" if peer == "npm" else "127.0.0.1"
        extra = ["--peer-reports-pings"] if peer == "npm" else []
        run_against(server, [fastnet_client, f"wss://{host}:{server.port}/", "--ca",
                             os.path.join(certs, "ca.pem")] + extra, os.path.basename(server_argv[1]))
        if not any(line.strip() == "closed 4000 bye" for line in server.lines):
            fail("the peer did not report our close (4000, \"bye\")")
        print("ok the peer received close 4000 \"bye\" over wss://")
    else:
        return False
    return True


def main(argv):
    if len(argv) >= 4 and argv[0] == "server":
        echo_server, mode, peer = argv[1], argv[2], argv[3]
        check_prerequisites(peer)
        server = server_process([echo_server, "--port", "0", "--mode", mode],
                                r"listening on 127\.0\.0\.1:(\d+)")
        url = f"ws://127.0.0.1:{server.port}/"
        client = (["node", os.path.join(HERE, "ws_client.mjs"), url] if peer == "npm" else
                  [PYTHON, os.path.join(HERE, "ws_client.py"), url])
        run_against(server, client, "ws_echo_server")
    elif len(argv) >= 3 and argv[0] == "client":
        fastnet_client, peer = argv[1], argv[2]
        check_prerequisites(peer)
        server = server_process(
            ["node", os.path.join(HERE, "ws_server.mjs")] if peer == "npm" else
            [PYTHON, os.path.join(HERE, "ws_server.py")], r"^listening (\d+)")
        try:
            extra = ["--peer-reports-pings"] if peer == "npm" else []
            rc = run_client([fastnet_client, str(server.port)] + extra)
        finally:
            server.stop()
        if rc != 0:
            fail(f"ws_interop_client exited with {rc}")
        # The peer saw our close frame with its code and reason intact.
        if not any(line.strip() == "closed 4000 bye" for line in server.lines):
            fail("the peer did not report our close (4000, \"bye\")")
        print("ok the peer received close 4000 \"bye\"")
    elif len(argv) >= 2 and argv[0] == "chat":
        chat_case(argv[1], argv[2] if len(argv) >= 3 else None)
    elif tls_main(argv):
        pass
    else:
        print(__doc__)
        return 2
    print("run_interop: passed", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
