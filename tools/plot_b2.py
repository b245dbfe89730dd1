#!/usr/bin/env python3
"""B2 decode tokens/s against batch size, cascade on and off, as an SVG.

Reads the JSON of `cascade bench scenarios --json FILE` (scenario B2 with measurements whose
params hold "batch" and "cascade") and writes a hand-made SVG: log-log axes with ticks,
one line per variant, a legend and a caption naming the device, commit, date and scale.
Standard library only.

    python3 tools/plot_b2.py results.json b2.svg
"""
import argparse
import json
import math
import sys
from xml.sax.saxutils import escape

WIDTH, HEIGHT = 640, 420
LEFT, RIGHT, TOP, BOTTOM = 80, 20, 40, 70
COLORS = {True: "#1f77b4", False: "#d62728"}


def b2_series(report):
    """{cascade: [(batch, median tok/s), ...] sorted by batch} from a bench JSON object."""
    scenarios = [s for s in report.get("scenarios", []) if s.get("id") == "B2"]
    if not scenarios:
        raise ValueError("no B2 scenario in the JSON")
    series = {True: [], False: []}
    for m in scenarios[0]["measurements"]:
        params = m.get("params", {})
        if "batch" not in params or "cascade" not in params:
            raise ValueError("B2 measurement '%s' has no batch/cascade params" % m.get("name"))
        series[bool(params["cascade"])].append((int(params["batch"]), float(m["median"])))
    for points in series.values():
        points.sort()
    if not series[True] and not series[False]:
        raise ValueError("B2 has no measurements")
    return series


def log_ticks(lo, hi):
    """Powers of ten (and 2x, 5x between them) covering [lo, hi]."""
    ticks = []
    for e in range(math.floor(math.log10(lo)), math.ceil(math.log10(hi)) + 1):
        for m in (1, 2, 5):
            v = m * 10 ** e
            if lo <= v <= hi:
                ticks.append(v)
    return ticks or [lo, hi]


def fmt(v):
    return "%g" % v if v < 1e4 else "{:,.0f}".format(v)


def render_svg(report):
    series = b2_series(report)
    points = [p for pts in series.values() for p in pts]
    xs = sorted({b for b, _ in points})
    x_lo, x_hi = xs[0] / 1.5, xs[-1] * 1.5
    y_values = [v for _, v in points if v > 0]
    if not y_values:
        raise ValueError("B2 has no positive figures")
    y_lo, y_hi = min(y_values) / 2, max(y_values) * 2
    pw, ph = WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM

    def px(x):
        return LEFT + pw * (math.log(x) - math.log(x_lo)) / (math.log(x_hi) - math.log(x_lo))

    def py(y):
        return TOP + ph * (1 - (math.log(y) - math.log(y_lo)) / (math.log(y_hi) - math.log(y_lo)))

    meta = report.get("meta", {})
    out = ['<svg xmlns="http://www.w3.org/2000/svg" width="%d" height="%d" '
           'font-family="sans-serif" font-size="12">' % (WIDTH, HEIGHT),
           '<rect width="100%" height="100%" fill="white"/>',
           '<text x="%d" y="22" font-size="15">B2 shared-context decode: tokens/s vs batch</text>'
           % LEFT]
    out.append('<line x1="%d" y1="%d" x2="%d" y2="%d" stroke="black"/>'
               % (LEFT, TOP + ph, LEFT + pw, TOP + ph))
    out.append('<line x1="%d" y1="%d" x2="%d" y2="%d" stroke="black"/>'
               % (LEFT, TOP, LEFT, TOP + ph))
    for x in xs:
        out.append('<line class="xtick" x1="%.1f" y1="%d" x2="%.1f" y2="%d" stroke="black"/>'
                   % (px(x), TOP + ph, px(x), TOP + ph + 5))
        out.append('<text x="%.1f" y="%d" text-anchor="middle">%d</text>'
                   % (px(x), TOP + ph + 18, x))
    for y in log_ticks(y_lo, y_hi):
        out.append('<line class="ytick" x1="%d" y1="%.1f" x2="%d" y2="%.1f" stroke="#ccc"/>'
                   % (LEFT, py(y), LEFT + pw, py(y)))
        out.append('<text x="%d" y="%.1f" text-anchor="end">%s</text>'
                   % (LEFT - 6, py(y) + 4, fmt(y)))
    out.append('<text x="%d" y="%d" text-anchor="middle">batch size (sequences)</text>'
               % (LEFT + pw // 2, TOP + ph + 36))
    out.append('<text transform="translate(18,%d) rotate(-90)" text-anchor="middle">'
               'decode tokens/s (log)</text>' % (TOP + ph // 2))
    for i, cascade in enumerate((True, False)):
        pts = [(b, v) for b, v in series[cascade] if v > 0]
        if not pts:
            continue
        color = COLORS[cascade]
        label = "cascade on" if cascade else "cascade off"
        path = " ".join("%.1f,%.1f" % (px(b), py(v)) for b, v in pts)
        out.append('<polyline class="series" data-label="%s" points="%s" fill="none" '
                   'stroke="%s" stroke-width="2"/>' % (label, path, color))
        for b, v in pts:
            out.append('<circle cx="%.1f" cy="%.1f" r="3" fill="%s"/>' % (px(b), py(v), color))
        ly = TOP + 10 + 18 * i
        out.append('<line x1="%d" y1="%d" x2="%d" y2="%d" stroke="%s" stroke-width="2"/>'
                   % (LEFT + 12, ly, LEFT + 36, ly, color))
        out.append('<text x="%d" y="%d">%s</text>' % (LEFT + 42, ly + 4, label))
    caption = "%s, %s; commit %s; %s; scale %s" % (
        meta.get("device", "?"), meta.get("device_description", "?"), meta.get("commit", "?"),
        meta.get("date", "?"), meta.get("scale", "?"))
    if meta.get("scale", 1) != 1:
        caption += " (SCALED smoke run)"
    out.append('<text x="%d" y="%d" font-size="10">%s</text>'
               % (LEFT, HEIGHT - 10, escape(caption)))
    out.append("</svg>")
    return "\n".join(out) + "\n"


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("json", help="output of cascade bench scenarios --json")
    parser.add_argument("svg", help="SVG file to write")
    args = parser.parse_args(argv)
    try:
        with open(args.json) as f:
            svg = render_svg(json.load(f))
    except (OSError, ValueError, KeyError) as e:
        print("plot_b2: error: %s" % e, file=sys.stderr)
        return 1
    with open(args.svg, "w") as f:
        f.write(svg)
    return 0


if __name__ == "__main__":
    sys.exit(main())
