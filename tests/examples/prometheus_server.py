#!/usr/bin/python3
"""A real Prometheus server scrapes echo_server under load, and its query API
agrees exactly with what the client sent. Everything on 127.0.0.1.

Starts echo_server (line codec, two loops, --metrics-port 0) in the given
mode, then Debian's `prometheus` with a one-second scrape of its /metrics and
a temporary data directory. Once a scrape is stored, CONNS connections each
send batches of BATCH lines and read back every echo until LOAD_SECONDS have
passed, so the client knows exactly how many frames it sent. Then, through
/api/v1/query and /api/v1/query_range, it proves:
  - up{job} == 1, before and after the load;
  - sum(fastnet_received_frames_total) == the client's count, exactly (polled
    until a scrape after the load shows it; more is a failure at once);
  - rate(fastnet_received_frames_total[3s]) was positive inside the load.
(increase() is not compared with the count: Prometheus extrapolates it
from the samples in its window, so it is only near the count; on a loaded
machine it came out 6 % short.)
Ends the processes it started by their handles (SIGTERM, then SIGKILL), every
wait bounded. Exits 77 (skipped) when there is no prometheus binary.

    prometheus_server.py ECHO_SERVER reactor|actors
"""
import json
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.parse
import urllib.request

LIMIT = 30          # seconds for each wait
LOAD_SECONDS = 5    # the load spans about this many scrapes, however slow the machine
CONNS = 4
BATCH = 50          # lines written before their echoes are read
JOB = "fastnet"
FRAMES = f'fastnet_received_frames_total{{job="{JOB}"}}'


def fail(why):
    print(f"prometheus_server: FAIL: {why}", flush=True)
    sys.exit(1)


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_echo(argv):
    """Starts echo_server; returns its Popen and (echo port, metrics port)."""
    proc = subprocess.Popen(argv, stdout=subprocess.PIPE, text=True)
    found, ready = {}, threading.Event()

    def pump():
        for line in proc.stdout:
            print(f"[echo_server] {line}", end="", flush=True)
            if m := re.search(r"metrics on http://[0-9.]+:(\d+)/metrics", line):
                found["metrics"] = int(m.group(1))
            if (m := re.search(r"listening on [0-9.]+:(\d+)", line)) and "port" not in found:
                found["port"] = int(m.group(1))
            if len(found) == 2:
                ready.set()
        ready.set()

    threading.Thread(target=pump, daemon=True).start()
    ready.wait(LIMIT)
    return proc, found.get("port"), found.get("metrics")


def load(port):
    """Each of CONNS connections sends BATCH lines, reads back their echo and
    checks it, until LOAD_SECONDS have passed. Returns the lines sent."""
    deadline = time.monotonic() + LOAD_SECONDS
    sent, errors = [0] * CONNS, []

    def run(c):
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=LIMIT) as s:
                while time.monotonic() < deadline:
                    batch = b"".join(f"c{c} m{sent[c] + i:09d}\n".encode() for i in range(BATCH))
                    s.sendall(batch)
                    echo = b""
                    while len(echo) < len(batch):
                        chunk = s.recv(65536)
                        if not chunk:
                            raise ConnectionError("server closed")
                        echo += chunk
                    if echo != batch:
                        raise ValueError("echo differs from what was sent")
                    sent[c] += BATCH
        except Exception as e:  # reported by the main thread
            errors.append(f"connection {c}: {e!r}")

    threads = [threading.Thread(target=run, args=(c,), daemon=True) for c in range(CONNS)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(LOAD_SECONDS + 2 * LIMIT)
    if errors or any(t.is_alive() for t in threads):
        fail(f"load: {errors or 'a connection hung'}")
    return sum(sent)


def main():
    if len(sys.argv) != 3 or sys.argv[2] not in ("reactor", "actors"):
        sys.exit(__doc__)
    if not shutil.which("prometheus"):
        print("prometheus_server: SKIP: no prometheus binary (Debian package prometheus)")
        sys.exit(77)
    procs = []  # ended in this order: Prometheus, which scrapes, first
    with tempfile.TemporaryDirectory(prefix="fastnet-prometheus-") as data:
        try:
            run(data, procs)
        finally:
            for p in procs:
                if p.poll() is None:
                    p.send_signal(signal.SIGTERM)
                    try:
                        p.wait(15)
                    except subprocess.TimeoutExpired:
                        p.kill()
                        p.wait()


def run(data, procs):
    echo, port, metrics = start_echo([
        sys.argv[1], "--mode", sys.argv[2], "--host", "127.0.0.1", "--port", "0",
        "--metrics-port", "0", "--codec", "line", "--loops", "2"])
    procs.append(echo)
    if not port or not metrics:
        fail("echo_server printed no listening and metrics lines")

    with open(f"{data}/prometheus.yml", "w") as f:
        f.write(f"global:\n  scrape_interval: 1s\n  scrape_timeout: 1s\n"
                f"scrape_configs:\n  - job_name: {JOB}\n    static_configs:\n"
                f"      - targets: ['127.0.0.1:{metrics}']\n")
    web = f"127.0.0.1:{free_port()}"
    with open(f"{data}/prometheus.log", "w") as log:
        prom = subprocess.Popen(
            ["prometheus", f"--config.file={data}/prometheus.yml",
             f"--storage.tsdb.path={data}/tsdb", f"--web.listen-address={web}",
             "--log.level=warn"],
            stdout=log, stderr=subprocess.STDOUT)
    procs.insert(0, prom)  # ended first: it is the one scraping

    def prom_fail(why):
        with open(f"{data}/prometheus.log") as log:
            fail(f"{why}\n[prometheus log]\n{log.read()}")

    def api(path, **params):
        url = f"http://{web}/api/v1/{path}?{urllib.parse.urlencode(params)}"
        with urllib.request.urlopen(url, timeout=LIMIT) as r:
            body = json.load(r)
        if body.get("status") != "success":
            prom_fail(f"{url}: {body}")
        return body["data"]["result"]

    def scalar(query, **params):
        """The query's one value, or None while it has no result."""
        result = api("query", query=query, **params)
        return float(result[0]["value"][1]) if result else None

    def poll(what, probe):
        deadline = time.monotonic() + LIMIT
        while (value := probe()) is None:
            if prom.poll() is not None:
                prom_fail(f"prometheus exited ({prom.returncode}) waiting for {what}")
            if time.monotonic() > deadline:
                prom_fail(f"no {what} within {LIMIT} s")
            time.sleep(0.1)
        return value

    def ready():
        try:
            with urllib.request.urlopen(f"http://{web}/-/ready", timeout=LIMIT) as r:
                return r.status == 200 or None
        except (urllib.error.URLError, ConnectionError):
            return None  # not listening yet, or 503 while starting

    poll("/-/ready", ready)
    # The first scrape is stored with no traffic yet: every series starts at 0.
    poll("up == 1", lambda: scalar(f'up{{job="{JOB}"}} == 1'))
    if poll("a scrape", lambda: scalar(f"sum({FRAMES})")) != 0:
        fail("frames counted before any load")

    load_start = time.time()
    n = load(port)
    load_end = time.time()
    print(f"prometheus_server: {n} lines sent and echoed in {load_end - load_start:.1f} s")

    def settled():  # None while the stored value still lags the load
        value = scalar(f"sum({FRAMES})")
        if value is not None and value > n:
            fail(f"Prometheus has {value:.0f} frames, the client sent {n}")
        return True if value == n else None
    poll(f"sum(fastnet_received_frames_total) == {n}", settled)
    if scalar(f'up{{job="{JOB}"}}') != 1:
        fail("up != 1 after the load")

    # The rate during the load, from Prometheus's own samples: [3s] holds
    # two or three one-second scrapes. Positive at some step is what a
    # slow machine guarantees (it may delay a scrape, not lose the load).
    rates = api("query_range", query=f"sum(rate({FRAMES}[3s]))",
                start=f"{load_start:.3f}", end=f"{load_end:.3f}", step="1s")
    points = [float(v) for _, v in rates[0]["values"]] if rates else []
    if not any(v > 0 for v in points):
        fail(f"rate() not positive during the load: {points}")

    print(f"prometheus_server: ok (up == 1, frames == {n}, "
          f"rate > 0 at {sum(v > 0 for v in points)} of {len(points)} steps)")


if __name__ == "__main__":
    main()
