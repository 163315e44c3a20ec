#!/usr/bin/env python3
"""Idle memory per connection: opens N idle connections to a server on
127.0.0.1:PORT (spread over loopback source addresses), waits until the
server process PID holds them, and prints its RSS growth per connection.
Loopback only; the connections are closed when it ends.

    bench/idle_rss.py PID PORT [N=10000]
"""
import os
import resource
import socket
import sys
import time


def rss_kib(pid):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    raise RuntimeError("no VmRSS")


def main():
    pid, port = int(sys.argv[1]), int(sys.argv[2])
    n = int(sys.argv[3]) if len(sys.argv) > 3 else 10000
    _, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    base_fds = len(os.listdir(f"/proc/{pid}/fd"))
    before = rss_kib(pid)
    socks = []
    for i in range(n):
        s = socket.socket()
        # 250 connections per source address keeps clear of ephemeral-port limits.
        s.bind((f"127.0.{1 + i // 62500}.{1 + (i // 250) % 250}", 0))
        s.connect(("127.0.0.1", port))
        socks.append(s)
    deadline = time.time() + 30  # bounded wait for the server to accept them all
    while time.time() < deadline and len(os.listdir(f"/proc/{pid}/fd")) < base_fds + n:
        time.sleep(0.05)
    time.sleep(0.5)  # let allocations settle after the last accept
    after = rss_kib(pid)
    print(f"conns={n} rss_before={before}KiB rss_after={after}KiB "
          f"per_conn={(after - before) * 1024 / n:.0f}B (hard RLIMIT_NOFILE {hard})")
    for s in socks:
        s.close()


if __name__ == "__main__":
    main()
