#!/usr/bin/python3
"""Runs one example with --metrics-port 0 on 127.0.0.1, sends it one line
of traffic, scrapes GET /metrics, and checks the text: `promtool check
metrics` passes, the families every server exports are there, and the
traffic shows (one accepted connection, bytes received). Servers of
connection actors (--mode actors, chat_server) must export the actor
families too, and echo_server's actors must show the frames they echoed.
Ends the example by its PID (SIGTERM, then SIGKILL); bounded in time
throughout.

    metrics_scrape.py EXAMPLE [ARGS...]
"""
import re
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.request

LIMIT = 30  # seconds for each wait


def fail(why):
    print(f"metrics_scrape: FAIL: {why}", flush=True)
    sys.exit(1)


def actor_mode(argv):
    """True when the example serves connection actors."""
    if "chat_server" in argv[0]:
        return True
    return "--mode" in argv and argv.index("--mode") + 1 < len(argv) and \
        argv[argv.index("--mode") + 1] == "actors"


def main():
    argv = sys.argv[1:] + ["--host", "127.0.0.1", "--port", "0", "--metrics-port", "0"]
    proc = subprocess.Popen(argv, stdout=subprocess.PIPE, text=True)
    lines, found = [], {}
    ready = threading.Event()

    def pump():
        for line in proc.stdout:
            print(f"[example] {line}", end="", flush=True)
            lines.append(line)
            m = re.search(r"metrics on http://([0-9.]+):(\d+)/metrics", line)
            if m:
                found["metrics"] = int(m.group(2))
            m = re.search(r"listening on ([0-9.]+):(\d+)", line)
            if m and "port" not in found:
                found["port"] = int(m.group(2))
            if "metrics" in found and "port" in found:
                ready.set()
        ready.set()

    threading.Thread(target=pump, daemon=True).start()
    try:
        ready.wait(LIMIT)
        if "metrics" not in found or "port" not in found:
            fail("the example printed no listening and metrics lines")
        # One line of traffic, so the counters have something to show.
        with socket.create_connection(("127.0.0.1", found["port"]), timeout=LIMIT) as s:
            s.sendall(b"GET /metrics-check HTTP/1.1\r\nHost: x\r\n\r\n" if "ws_echo" in argv[0]
                      else b"hello\n")
            s.shutdown(socket.SHUT_WR)  # then read to the server's end
            while s.recv(4096):
                pass
        url = f"http://127.0.0.1:{found['metrics']}/metrics"
        deadline = time.monotonic() + LIMIT
        while True:  # the close of that connection is counted on its loop
            with urllib.request.urlopen(url, timeout=LIMIT) as r:
                ctype = r.headers.get("Content-Type", "")
                text = r.read().decode()
            if re.search(r'fastnet_connections_closed_total\{[^}]*\} [1-9]', text):
                break
            if time.monotonic() > deadline:
                fail("the closed connection never showed:\n" + text)
            time.sleep(0.05)
        if not ctype.startswith("text/plain; version=0.0.4"):
            fail(f"Content-Type {ctype!r}")
        for family in ("fastnet_connections_accepted_total", "fastnet_received_bytes_total",
                       "fastnet_loop_busy_seconds_total", "fastnet_connections_refused_total"):
            if f"# TYPE {family} " not in text:
                fail(f"{family} missing")
        if not re.search(r'fastnet_received_bytes_total\{[^}]*\} [1-9]', text):
            fail("no bytes received counted")
        if actor_mode(argv):
            for family, kind in (("fastnet_actor_frames_handed_total", "counter"),
                                 ("fastnet_actor_frames_handled_total", "counter"),
                                 ("fastnet_actor_frames_pending", "gauge"),
                                 ("fastnet_actor_wakes_total", "counter"),
                                 ("fastnet_actor_runs_total", "counter"),
                                 ("fastnet_actor_frame_wait_seconds", "histogram")):
                if f"# TYPE {family} {kind}\n" not in text:
                    fail(f"{family} ({kind}) missing in actor mode")
            # The echo actor handled the line (before it replied): counted
            # handled, with its wait, and nothing is left pending.
            if "echo_server" in argv[0] and "ws_echo" not in argv[0]:
                for pattern in (r'fastnet_actor_frames_handled_total\{[^}]*\} [1-9]',
                                r'fastnet_actor_frame_wait_seconds_count\{[^}]*\} [1-9]'):
                    if not re.search(pattern, text):
                        fail(f"no frame handled by an actor ({pattern})")
                if re.search(r'fastnet_actor_frames_pending\{[^}]*\} [1-9]', text):
                    fail("frames left pending once idle")
        # metrics_server's own counter, beside the server's families.
        if "metrics_server" in argv[0] and not re.search(r"^app_lines_total 1$", text, re.M):
            fail("app_lines_total is not 1 after one line")
        check = subprocess.run(["promtool", "check", "metrics"], input=text, text=True,
                               capture_output=True, timeout=LIMIT)
        if check.returncode != 0:
            fail(f"promtool: {check.stdout}{check.stderr}")
        print(f"metrics_scrape: ok ({len(text.splitlines())} lines, promtool clean)")
    finally:
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(15)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()


if __name__ == "__main__":
    main()
