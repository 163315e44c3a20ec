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
    run_interop.py chat CHAT_SERVER
        chat_server --ws-port: headless chromium (chat_browser.mjs) and a TCP
        client (this script) in the same room see each other's lines.
"""
import os
import re
import signal
import socket
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
    """A TCP client of the line-based chat; every read bounded by LIMIT."""

    def __init__(self, port):
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=LIMIT)
        self.buffer = b""

    def send(self, line):
        self.sock.sendall(line.encode() + b"\n")

    def wait_for(self, pattern):
        """Reads lines until one matches `pattern`; returns the match."""
        while True:
            while b"\n" not in self.buffer:
                chunk = self.sock.recv(65536)  # socket.timeout after LIMIT
                if not chunk:
                    fail(f"chat closed the TCP connection before {pattern!r}")
                self.buffer += chunk
            line, self.buffer = self.buffer.split(b"\n", 1)
            text = line.decode().rstrip("\r")
            print(f"[tcp] {text}", flush=True)
            m = re.fullmatch(pattern, text)
            if m:
                return m


def chat_case(chat_server):
    check_prerequisites("npm")
    if not os.path.isdir(os.path.join(HERE, "node_modules", "playwright-core")):
        fail("tests/interop/node_modules/playwright-core is missing: run scripts/setup.sh")
    server = server_process([chat_server, "--host", "127.0.0.1", "--port", "0", "--ws-port", "0"],
                            r"listening on 127\.0\.0\.1:(\d+)")
    browser = None
    try:
        ws_port = next(int(m.group(1)) for m in (re.search(r"websocket on 127\.0\.0\.1:(\d+)", l)
                                                  for l in server.lines) if m)
        tcp = line_client(server.port)
        me = tcp.wait_for(r"\* (guest\d+) joined").group(1)
        # A second TCP client: connection ids 1 and 2 on the TCP server, as
        # the page load and the WebSocket get on the WebSocket server; the
        # chat must keep them apart (nick and room membership).
        other = line_client(server.port)
        other.wait_for(r"\* (guest\d+) joined")
        browser = subprocess.Popen(
            ["node", os.path.join(HERE, "chat_browser.mjs"), f"http://127.0.0.1:{ws_port}/"],
            stdout=subprocess.PIPE, text=True)
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


def main(argv):
    if len(argv) >= 4 and argv[0] == "server":
        echo_server, mode, peer = argv[1], argv[2], argv[3]
        check_prerequisites(peer)
        server = server_process([echo_server, "--port", "0", "--mode", mode],
                                r"listening on 127\.0\.0\.1:(\d+)")
        url = f"ws://127.0.0.1:{server.port}/"
        try:
            client = (["node", os.path.join(HERE, "ws_client.mjs"), url] if peer == "npm" else
                      [PYTHON, os.path.join(HERE, "ws_client.py"), url])
            rc = run_client(client)
        finally:
            status = server.stop()
        if rc != 0:
            fail(f"client exited with {rc}")
        if status != 0:
            fail(f"ws_echo_server exited with {status} on SIGTERM")
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
        chat_case(argv[1])
    else:
        print(__doc__)
        return 2
    print("run_interop: passed", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
