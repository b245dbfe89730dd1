"""Tests of tools/plot_b2.py (stdlib only): python3 -m unittest discover -s tests/python"""
import os
import sys
import tempfile
import json
import unittest
import xml.etree.ElementTree as ET

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path.insert(0, os.path.join(ROOT, "tools"))
import plot_b2  # noqa: E402

SVG = "{http://www.w3.org/2000/svg}"


def report(points, scale=1):
    """A bench JSON with B2 measurements {(batch, cascade): median}."""
    measurements = [{"name": "decode", "median": v, "params": {"batch": b, "cascade": c}}
                    for (b, c), v in points.items()]
    return {"meta": {"device": "cuda", "device_description": "H200", "commit": "abc1234",
                     "date": "2026-11-29T00:00:00Z", "scale": scale},
            "scenarios": [{"id": "B1", "measurements": []},
                          {"id": "B2", "measurements": measurements}]}


POINTS = {(16, True): 20000.0, (64, True): 60000.0, (128, True): 90000.0,
          (16, False): 2000.0, (64, False): 2100.0, (128, False): 2200.0}


class PlotB2Test(unittest.TestCase):
    def test_series_are_sorted_by_batch_per_variant(self):
        shuffled = dict(reversed(list(POINTS.items())))
        series = plot_b2.b2_series(report(shuffled))
        self.assertEqual(series[True], [(16, 20000.0), (64, 60000.0), (128, 90000.0)])
        self.assertEqual(series[False], [(16, 2000.0), (64, 2100.0), (128, 2200.0)])

    def test_svg_has_two_lines_ticks_legend_and_caption(self):
        root = ET.fromstring(plot_b2.render_svg(report(POINTS)))
        lines = [e for e in root.iter(SVG + "polyline") if e.get("class") == "series"]
        self.assertEqual(sorted(e.get("data-label") for e in lines), ["cascade off", "cascade on"])
        for line in lines:
            self.assertEqual(len(line.get("points").split()), 3)
        texts = [e.text for e in root.iter(SVG + "text")]
        self.assertIn("cascade on", texts)
        self.assertIn("cascade off", texts)
        for batch in ("16", "64", "128"):
            self.assertIn(batch, texts)
        self.assertEqual(len([e for e in root.iter(SVG + "line") if e.get("class") == "xtick"]), 3)
        self.assertTrue(any(e.get("class") == "ytick" for e in root.iter(SVG + "line")))
        self.assertTrue(any(t and "abc1234" in t for t in texts))

    def test_higher_figures_are_drawn_higher(self):
        root = ET.fromstring(plot_b2.render_svg(report(POINTS)))
        ys = {}
        for e in root.iter(SVG + "polyline"):
            if e.get("class") == "series":
                ys[e.get("data-label")] = [float(p.split(",")[1]) for p in e.get("points").split()]
        # SVG y grows downwards: cascade on (faster) lies above cascade off at every batch.
        for on, off in zip(ys["cascade on"], ys["cascade off"]):
            self.assertLess(on, off)
        self.assertGreater(ys["cascade on"][0], ys["cascade on"][2])  # rises with batch

    def test_scaled_runs_are_labelled(self):
        svg = plot_b2.render_svg(report(POINTS, scale=0.05))
        self.assertIn("SCALED", svg)
        self.assertNotIn("SCALED", plot_b2.render_svg(report(POINTS)))

    def test_missing_b2_is_an_error_naming_it(self):
        with self.assertRaisesRegex(ValueError, "no B2"):
            plot_b2.b2_series({"scenarios": [{"id": "B1", "measurements": []}]})

    def test_main_writes_the_file(self):
        with tempfile.TemporaryDirectory() as d:
            src, dst = os.path.join(d, "r.json"), os.path.join(d, "b2.svg")
            with open(src, "w") as f:
                json.dump(report(POINTS), f)
            self.assertEqual(plot_b2.main([src, dst]), 0)
            ET.parse(dst)
            self.assertEqual(plot_b2.main([os.path.join(d, "missing.json"), dst]), 1)


if __name__ == "__main__":
    unittest.main()
