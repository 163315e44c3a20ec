#!/usr/bin/python3
"""ab_echo — two builds of echo_server, alternated, on one case: for
"did this change cost anything per message?". Each binary serves with
--loops 1 pinned to core 0 while bench/load_client (core 1) runs 100 (or
--conns) × 64 B ping-pong; REPS rounds, old and new alternating; prints server CPU µs per
message for each run and the medians with min–max. Loopback only; every
server is stopped by PID.

    bench/ab_echo.py OLD_ECHO_SERVER NEW_ECHO_SERVER [--reps 7] [--duration 5] [--conns 100]
        [--load-client build/bench/load_client] [-- extra echo_server flags]
"""
import argparse
import json
import os
import statistics
import subprocess
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def one_run(binary, port, args, extra):
    server = subprocess.Popen(["taskset", "-c", "0", binary, "--port", str(port), "--host",
                               "127.0.0.1", "--loops", "1"] + extra,
                              stdout=subprocess.PIPE, text=True)
    try:
        for line in server.stdout:
            if "listening" in line:
                break
        out = subprocess.run(["taskset", "-c", "1", args.load_client, "--host", "127.0.0.1",
                              "--port", str(port), "--mode", "pingpong", "--conns", str(args.conns),
                              "--size", "64", "--duration", str(args.duration), "--warmup", "0.5",
                              "--server-pid", str(server.pid), "--json"],
                             capture_output=True, text=True, timeout=args.duration + 60)
        result = json.loads(out.stdout.strip().splitlines()[-1])
        if result["errors"]:
            raise SystemExit(f"ab_echo: {binary}: {result['errors']} errors")
        return result["server_cpu_us_per_msg"]
    finally:
        server.terminate()
        server.wait(15)


def main():
    p = argparse.ArgumentParser()
    p.add_argument("old")
    p.add_argument("new")
    p.add_argument("--reps", type=int, default=7)
    p.add_argument("--duration", type=float, default=5)
    p.add_argument("--conns", type=int, default=100)
    p.add_argument("--load-client", default=os.path.join(ROOT, "build/bench/load_client"))
    # Everything after "--" goes to echo_server (argparse cannot take
    # options in a positional list).
    argv = sys.argv[1:]
    extra = argv[argv.index("--") + 1:] if "--" in argv else []
    args = p.parse_args(argv[:argv.index("--")] if "--" in argv else argv)
    args.extra = extra
    runs = {"old": [], "new": []}
    port = 9700
    for rep in range(args.reps):
        for name in ("old", "new"):
            port += 1
            us = one_run(getattr(args, name), port, args, args.extra)
            runs[name].append(us)
            print(f"rep {rep + 1} {name}: {us:.3f} us/msg", flush=True)
    for name, v in runs.items():
        print(f"{name}: median {statistics.median(v):.3f} us/msg "
              f"({min(v):.3f}-{max(v):.3f}), {len(v)} runs")


if __name__ == "__main__":
    main()
