"""charts — SVG bar charts of run_matrix.py's results.

For every case, server CPU per message (per connection, handshake or ping
where the case counts those) for each server; for every idle case, also the
server's memory per idle connection. A bar is the median, the whisker the
min–max range over the repetitions, the label the median. fastnet's rows,
its peers and the reference floors get different colours.

The rows come from run_matrix.py's figures of a run, or from the table of a
results markdown file (parse_markdown). matplotlib (Debian's
python3-matplotlib) is imported only when a chart is drawn: render() raises
ImportError without it, and everything else here is standard library only.
The SVGs are reproducible: fixed hash salt, no date.
"""

import collections
import os
import re

# One server in one case. cpu and kib are (median, min, max) or None; kib is
# only set for idle cases. unit is what the CPU figure is per: message,
# connection, handshake or ping.
Row = collections.namedtuple("Row", "server case unit cpu kib")

COLOURS = {"fastnet": "#d95f02", "peer": "#8c8c8c", "floor": "#d9d9d9"}
HATCHES = {"fastnet": "", "peer": "", "floor": "////"}
KIND_LABELS = {"fastnet": "fastnet", "peer": "peer",
               "floor": "reference floor (no framework)"}


def kind(server, floors):
    """fastnet, floor (one of `floors`) or peer."""
    if server.startswith("fastnet"):
        return "fastnet"
    return "floor" if server in floors else "peer"


# -- reading a results file ------------------------------------------------------

_NUMBER = r"[0-9.]+[kM]?"
_CELL = re.compile(rf"^\s*({_NUMBER})(?:\s*\(({_NUMBER})–({_NUMBER})\))?\s*(.*?)\s*$")


def number(text):
    """A number as run_matrix.py prints it: 8280, 10.5k, 4.27M."""
    scale = {"k": 1e3, "M": 1e6}.get(text[-1], 1)
    return float(text.rstrip("kM")) * scale


def parse_cell(text):
    """'6.83 (6.03–7.16) /handshake' -> ((6.83, 6.03, 7.16), '/handshake');
    a cell without a range has min = max = median; '–' -> (None, '')."""
    m = _CELL.match(text)
    if not m:
        return None, ""
    med = number(m.group(1))
    lo, hi = (number(m.group(2)), number(m.group(3))) if m.group(2) else (med, med)
    return (med, lo, hi), m.group(4)


def parse_markdown(path):
    """The rows of a results file's main table, and the repetitions per cell
    (None when the file does not say)."""
    with open(path, encoding="utf-8") as f:
        lines = f.read().splitlines()
    reps = None
    for line in lines:
        m = re.match(r"- cells: median of (\d+) runs", line)
        if m:
            reps = int(m.group(1))
        elif line.startswith("- cells: one run"):
            reps = 1
    start = next((i for i, l in enumerate(lines) if l.startswith("| server | case |")), None)
    if start is None:
        raise ValueError(f"{path}: no '| server | case | ...' table")
    heads = [h.strip() for h in lines[start].strip().strip("|").split("|")]
    cpu_col = next((i for i, h in enumerate(heads) if h.startswith("server CPU µs")), None)
    mem_col = next((i for i, h in enumerate(heads) if "idle conn" in h), None)
    if cpu_col is None or mem_col is None:
        raise ValueError(f"{path}: the table has no 'server CPU µs/msg' or idle memory column")
    rows = []
    for line in lines[start + 2:]:
        if not line.startswith("|"):
            break
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        server, case = cells[0], cells[1]
        cpu, note = parse_cell(cells[cpu_col])
        if cpu is None:  # the iperf3 ceiling, or a row whose runs all failed
            continue
        idle = cells[mem_col].endswith("KiB/conn")
        kib = parse_cell(cells[mem_col])[0] if idle else None
        unit = ("ping" if idle else "connection" if note == "/conn"
                else "handshake" if note == "/handshake" else "message")
        rows.append(Row(server, case, unit, cpu, kib))
    return rows, reps


# -- drawing ---------------------------------------------------------------------

def _pyplot():
    """pyplot on the Agg backend, set up for small, reproducible SVGs."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    matplotlib.rcParams.update({"svg.hashsalt": "fastnet-bench", "font.size": 9,
                                "axes.titlesize": 10})
    return plt


def label(value):
    """The median as the bar's label: two decimals below 100, none above."""
    return f"{value:.0f}" if value >= 100 else f"{value:.2f}"


def bar_chart(plt, path, title, xlabel, bars, floors):
    """One horizontal bar per (server, (median, min, max)) in `bars`, top to
    bottom in the given order, with a min–max whisker and the median written
    beside it; saved as SVG at `path`."""
    from matplotlib.patches import Patch

    names = [s for s, _ in bars]
    meds = [v[0] for _, v in bars]
    kinds = [kind(s, floors) for s in names]
    ys = range(len(bars))
    fig, ax = plt.subplots(figsize=(6.4, 1.3 + 0.3 * len(bars)))
    patches = ax.barh(ys, meds, height=0.6, color=[COLOURS[k] for k in kinds],
                      edgecolor="#404040", linewidth=0.6)
    for patch, k in zip(patches, kinds):
        patch.set_hatch(HATCHES[k])
    spread = [(y, v) for y, (_, v) in zip(ys, bars) if v[2] > v[1]]
    if spread:
        ax.errorbar([v[0] for _, v in spread], [y for y, _ in spread],
                    xerr=[[v[0] - v[1] for _, v in spread], [v[2] - v[0] for _, v in spread]],
                    fmt="none", ecolor="black", elinewidth=1, capsize=3)
    right = max(v[2] for _, v in bars) or 1.0
    for y, (_, v) in zip(ys, bars):
        ax.text(v[2] + right * 0.015, y, label(v[0]), va="center", fontsize=8)
    ax.set_xlim(0, right * 1.15)
    ax.set_yticks(list(ys), names)
    for tick, k in zip(ax.get_yticklabels(), kinds):
        if k == "fastnet":
            tick.set_fontweight("bold")
    ax.invert_yaxis()
    ax.set_xlabel(xlabel)
    ax.set_title(title, loc="left", pad=20)
    ax.grid(axis="x", color="#e0e0e0", linewidth=0.6)
    ax.set_axisbelow(True)
    for side in ("top", "right"):
        ax.spines[side].set_visible(False)
    present = [k for k in COLOURS if k in kinds]
    ax.legend(handles=[Patch(facecolor=COLOURS[k], edgecolor="#404040", hatch=HATCHES[k],
                             label=KIND_LABELS[k]) for k in present],
              loc="lower left", bbox_to_anchor=(0.0, 1.0), ncol=len(present), frameon=False,
              fontsize=8, borderaxespad=0.2, handlelength=1.5)
    fig.tight_layout()
    fig.savefig(path, format="svg", metadata={"Date": None})
    plt.close(fig)


def file_name(case, suffix=""):
    """The SVG's name for a case: its name, anything unusual replaced."""
    return re.sub(r"[^A-Za-z0-9_.-]", "_", case) + suffix + ".svg"


def render(rows, out_dir, reps=None, floors=(), descriptions=None):
    """Writes <case>.svg (server CPU) for every case in `rows` and
    <case>-memory.svg for every idle case into `out_dir`; returns the paths
    written. Raises ImportError without matplotlib."""
    plt = _pyplot()
    descriptions = descriptions or {}
    os.makedirs(out_dir, exist_ok=True)
    how = (f"median of {reps} runs, whisker min–max" if reps and reps > 1
           else "one run" if reps == 1 else "median, whisker min–max")
    cases = list(dict.fromkeys(r.case for r in rows))
    written = []
    for case in cases:
        mine = [r for r in rows if r.case == case]
        about = f"{case}: {descriptions[case]}" if case in descriptions else case
        unit = mine[0].unit
        path = os.path.join(out_dir, file_name(case))
        bar_chart(plt, path, f"{about}\nserver CPU per {unit}",
                  f"server CPU µs per {unit} ({how})", [(r.server, r.cpu) for r in mine],
                  floors)
        written.append(path)
        memory = [(r.server, r.kib) for r in mine if r.kib is not None]
        if memory:
            path = os.path.join(out_dir, file_name(case, "-memory"))
            bar_chart(plt, path, f"{about}\nserver memory per idle connection",
                      f"KiB per idle connection, server RSS growth ({how})", memory, floors)
            written.append(path)
    return written
