#!/usr/bin/env python3
"""Turns the benchmark's CSV (bench/bench.c) into an SVG bar chart, and optionally into the
Markdown tables doc/BENCHMARKS.md shows. Python standard library only.

    python3 bench/chart.py results.csv chart.svg [--markdown tables.md]

The chart has one group of bars per workload, one bar per store. A bar's length is the
store's speed relative to the fastest store on that workload (the fastest bar is full
length), so workloads of very different costs share one axis; each bar is labelled with its
microseconds per operation.
"""

import csv
import sys
from html import escape

COLORS = {
    "toykv": "#d95f02",
    "leveldb": "#1b9e77",
    "rocksdb": "#7570b3",
    "lmdb": "#999999",
}
LSMS = ("leveldb", "rocksdb")


def load(path):
    with open(path, newline="") as f:
        rows = list(csv.DictReader(f))
    workloads, stores = [], []
    for r in rows:
        r["us_per_op"] = float(r["us_per_op"])
        if r["workload"] not in workloads:
            workloads.append(r["workload"])
        if r["store"] not in stores:
            stores.append(r["store"])
    table = {(r["workload"], r["store"]): r for r in rows}
    return rows, workloads, stores, table


def svg(rows, workloads, stores, table):
    bar_h, gap, label_w, plot_w = 14, 12, 120, 520
    group_h = bar_h * len(stores) + gap
    legend_h = 58
    height = legend_h + group_h * len(workloads) + 30
    width = label_w + plot_w + 110
    n = f"{int(rows[0]['n']):,}" if rows else "?"
    out = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
        f'font-family="sans-serif" font-size="11">',
        f'<rect width="{width}" height="{height}" fill="white"/>',
        f'<text x="10" y="16" font-size="13" font-weight="bold">'
        f"Speed relative to the fastest store, per workload (N = {escape(n)})</text>",
        '<text x="10" y="31">Longer is faster; each bar is labelled with its microseconds '
        "per operation (wall clock, lower is better).</text>",
    ]
    x = 10
    for s in stores:
        out.append(f'<rect x="{x}" y="40" width="12" height="10" fill="{COLORS.get(s, "#333")}"/>')
        out.append(f'<text x="{x + 16}" y="49">{escape(s)}</text>')
        x += 90
    y = legend_h
    for w in workloads:
        present = [table[(w, s)] for s in stores if (w, s) in table]
        fastest = min((r["us_per_op"] for r in present if r["us_per_op"] > 0), default=0)
        out.append(
            f'<text x="{label_w - 8}" y="{y + group_h / 2}" text-anchor="end" '
            f'font-weight="bold">{escape(w)}</text>'
        )
        for i, s in enumerate(stores):
            r = table.get((w, s))
            by = y + i * bar_h
            if r is None or r["us_per_op"] <= 0:
                continue
            frac = fastest / r["us_per_op"]
            bw = max(1.0, plot_w * frac)
            out.append(
                f'<rect x="{label_w}" y="{by}" width="{bw:.1f}" height="{bar_h - 2}" '
                f'fill="{COLORS.get(s, "#333")}"/>'
            )
            out.append(
                f'<text x="{label_w + bw + 4:.1f}" y="{by + bar_h - 4}">'
                f'{fmt(r["us_per_op"])} µs</text>'
            )
        y += group_h
    out.append(
        f'<line x1="{label_w}" y1="{legend_h - 4}" x2="{label_w}" y2="{y}" stroke="#333"/>'
    )
    out.append("</svg>")
    return "\n".join(out) + "\n"


def fmt(us):
    """Microseconds with three significant digits, never in exponent form."""
    if us >= 100:
        return f"{us:.0f}"
    if us >= 10:
        return f"{us:.1f}"
    if us >= 1:
        return f"{us:.2f}"
    return f"{us:.3f}"


def ratio(table, w, field):
    """The faster LSM's `field` over toykv's on workload w, as '1.23x' (or '–')."""
    toykv = table.get((w, "toykv"))
    lsm = [float(table[(w, s)][field]) for s in LSMS if (w, s) in table and table[(w, s)].get(field)]
    if not toykv or not toykv.get(field) or not lsm or float(toykv[field]) <= 0:
        return "–"
    return f"{min(lsm) / float(toykv[field]):.2f}x"


def per_store(title, workloads, stores, table, cell):
    """A titled Markdown table: one row per workload, one `cell(row)` per store."""
    lines = ["", title, "", "| workload | " + " | ".join(stores) + " |"]
    lines.append("|---|" + "---:|" * len(stores))
    for w in workloads:
        cells = [cell(table[(w, s)]) if (w, s) in table else "–" for s in stores]
        lines.append(f"| {w} | " + " | ".join(cells) + " |")
    return lines


def markdown(rows, workloads, stores, table):
    cpu = all(r.get("cpu_us_per_op") for r in rows)
    lines = [
        "µs per operation (wall clock; lower is better) and toykv's speed relative to the "
        "faster of LevelDB and RocksDB, by wall clock"
        + (" and by CPU time" if cpu else "")
        + ":",
        "",
        "| workload | "
        + " | ".join(stores)
        + " | toykv vs the faster LSM"
        + (" | same, by CPU time |" if cpu else " |"),
        "|---|" + "---:|" * (len(stores) + 1 + cpu),
    ]
    for w in workloads:
        cells = []
        for s in stores:
            r = table.get((w, s))
            cells.append(fmt(r["us_per_op"]) if r else "–")
        extra = f" | {ratio(table, w, 'cpu_us_per_op')}" if cpu else ""
        lines.append(f"| {w} | " + " | ".join(cells) + f" | {ratio(table, w, 'us_per_op')}{extra} |")
    if cpu:
        lines += per_store(
            "CPU time per operation (µs, all of the store's threads):",
            workloads,
            stores,
            table,
            lambda r: fmt(float(r["cpu_us_per_op"])),
        )
    lines += per_store(
        "Disk (MB, allocated, after the workload and a close) / peak RSS (MB) of the process:",
        workloads,
        stores,
        table,
        lambda r: f'{int(r["disk_bytes"]) / 1e6:.1f} / {int(r["peak_rss_bytes"]) / 1e6:.1f}',
    )
    return "\n".join(lines) + "\n"


def main(argv):
    if len(argv) not in (3, 5) or (len(argv) == 5 and argv[3] != "--markdown"):
        sys.exit("usage: chart.py results.csv chart.svg [--markdown tables.md]")
    data = load(argv[1])
    if not data[0]:
        sys.exit(f"chart.py: {argv[1]} holds no results")
    with open(argv[2], "w") as f:
        f.write(svg(*data))
    if len(argv) == 5:
        with open(argv[4], "w") as f:
            f.write(markdown(*data))
    print(f"wrote {argv[2]}" + (f" and {argv[4]}" if len(argv) == 5 else ""))


if __name__ == "__main__":
    main(sys.argv)
