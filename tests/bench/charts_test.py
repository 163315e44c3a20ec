#!/usr/bin/python3
"""bench/charts.py and `run_matrix.py charts` on a fixture results file.

Reads tests/bench/fixture_results.md (two cases by three servers, one case
idle, plus the iperf3 ceiling row) and checks what the table parses to. Then
draws its charts with `bench/run_matrix.py charts FIXTURE --out DIR` and
checks that exactly the expected SVGs are written (CPU per case, memory for
the idle case), that each parses as SVG and names every server in its case
with its median, that the ceiling row is left out, that a second rendering
is byte for byte the same and that, without --out, they go beside the file.
The parsing is checked without matplotlib; the charts need it: exits 77
(skipped) when python3-matplotlib is not importable.

    charts_test.py
"""
import importlib.util
import os
import shutil
import subprocess
import sys
import tempfile
import xml.etree.ElementTree as ET

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
FIXTURE = os.path.join(HERE, "fixture_results.md")
RUN_MATRIX = os.path.join(ROOT, "bench", "run_matrix.py")
SERVERS = ["fastnet-reactor", "asio", "bare_epoll"]
# file -> the median label each server's bar must carry
EXPECTED = {
    "pingpong-100x64.svg": {"fastnet-reactor": "6.83", "asio": "6.53", "bare_epoll": "6.27"},
    "idle-10k.svg": {"fastnet-reactor": "20.89", "asio": "23.00", "bare_epoll": "18.60"},
    "idle-10k-memory.svg": {"fastnet-reactor": "0.22", "asio": "4.55", "bare_epoll": "0.19"},
}

sys.path.insert(0, os.path.join(ROOT, "bench"))
sys.dont_write_bytecode = True
import charts  # noqa: E402  (bench/charts.py, found through the path above)


def fail(msg):
    print(f"charts_test: FAIL: {msg}")
    sys.exit(1)


def check(ok, msg):
    if not ok:
        fail(msg)


def read(path):
    with open(path, "rb") as f:
        return f.read()


def check_parsing():
    """The fixture's table as rows: medians and ranges, units, the idle
    memory, a cell without a range, the ceiling row left out."""
    check(charts.number("10.5k") == 10500 and charts.number("4.27M") == 4.27e6,
          "k and M suffixes")
    rows, reps = charts.parse_markdown(FIXTURE)
    check(reps == 5, f"repetitions: {reps}, expected 5")
    got = {(r.server, r.case): r for r in rows}
    check(sorted(got) == sorted((s, c) for s in SERVERS for c in ("pingpong-100x64", "idle-10k")),
          f"rows: {sorted(got)}")
    r = got[("fastnet-reactor", "pingpong-100x64")]
    check(r.cpu == (6.83, 6.03, 7.16) and r.kib is None and r.unit == "message", f"row {r}")
    r = got[("asio", "idle-10k")]
    check(r.cpu == (23.0, 21.6, 24.6) and r.kib == (4.55, 4.51, 4.62) and r.unit == "ping",
          f"row {r}")
    r = got[("bare_epoll", "idle-10k")]
    check(r.kib == (0.19, 0.19, 0.19), f"a cell without a range: {r.kib}")


def render(out_dir, *args):
    """`run_matrix.py charts` with args; fails the test unless it succeeds."""
    proc = subprocess.run([sys.executable, RUN_MATRIX, "charts", *args], capture_output=True,
                          text=True, timeout=120)
    check(proc.returncode == 0, f"run_matrix.py charts exited {proc.returncode}: {proc.stderr}")
    check(os.path.isdir(out_dir), f"no directory {out_dir}")
    return sorted(os.listdir(out_dir))


def check_svgs(out_dir):
    """Every expected SVG, and nothing else, each valid SVG with its servers' names and medians."""
    names = render(out_dir, FIXTURE, "--out", out_dir)
    check(names == sorted(EXPECTED), f"files written: {names}, expected {sorted(EXPECTED)}")
    for name, medians in EXPECTED.items():
        path = os.path.join(out_dir, name)
        try:
            root = ET.parse(path).getroot()
        except ET.ParseError as e:
            fail(f"{name} is not XML: {e}")
        check(root.tag == "{http://www.w3.org/2000/svg}svg", f"{name}: root element {root.tag}")
        with open(path, encoding="utf-8") as f:
            text = f.read()
        for server, median in medians.items():
            check(server in text, f"{name} does not name {server}")
            check(f"<!-- {median} -->" in text, f"{name} has no label {median} ({server})")
        check("iperf3" not in text, f"{name} has the iperf3 ceiling row")
        check("<dc:date>" not in text, f"{name} carries a date")


def main():
    check_parsing()
    if importlib.util.find_spec("matplotlib") is None:
        print("charts_test: SKIP: no matplotlib (Debian package python3-matplotlib); "
              "the parsing passed")
        sys.exit(77)
    with tempfile.TemporaryDirectory(prefix="fastnet-charts-") as tmp:
        first, second = os.path.join(tmp, "first"), os.path.join(tmp, "second")
        check_svgs(first)
        check_svgs(second)
        for name in EXPECTED:
            check(read(os.path.join(first, name)) == read(os.path.join(second, name)),
                  f"two renderings of {name} differ")
        copy = os.path.join(tmp, "run.md")
        shutil.copy(FIXTURE, copy)
        beside = render(os.path.join(tmp, "run-charts"), copy)
        check(beside == sorted(EXPECTED), f"without --out: {beside}")
    print(f"charts_test: OK ({len(EXPECTED)} charts, parsed, drawn, reproducible)")


if __name__ == "__main__":
    main()
