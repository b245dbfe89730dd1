"""Tests of tools/ncu_summary.py (stdlib only): python3 -m unittest discover -s tests/python"""
import contextlib
import io
import os
import sys
import tempfile
import unittest

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path.insert(0, os.path.join(ROOT, "tools"))
import ncu_summary  # noqa: E402

HEADER = ('"ID","Process ID","Process Name","Host Name","Kernel Name","Context","Stream",'
          '"Block Size","Grid Size","Device","CC","Section Name","Metric Name","Metric Unit",'
          '"Metric Value"')
EMBED = "void cascade::cuda::(anonymous namespace)::embedding_kernel(const int *, long)"
WGMMA = ("void cascade::cuda::(anonymous namespace)::attention_wgmma_kernel<128>"
         "(cascade::cuda::AttentionArgs)")


def row(i, name, unit, value, metric="gpu__time_duration.sum"):
    return (f'"{i}","1","cascade","h","{name}","1","7","(128, 1, 1)","(8, 1, 1)","0","9.0",'
            f'"Command line profiler metrics","{metric}","{unit}","{value}"')


LOG = ["==PROF== Connected to process 1", "a line the program printed", HEADER,
       row(0, EMBED, "usecond", "2.5"), row(1, WGMMA, "nsecond", "1,500"),
       row(2, "nvjet_hsh_64x8_64x16_2x1_v_bz_TNT", "usecond", "5"),
       row(2, "nvjet_hsh_64x8_64x16_2x1_v_bz_TNT", "byte", "7", metric="dram__bytes.sum"),
       row(3, EMBED, "usecond", "2"), row(4, WGMMA, "msecond", "0.003"),
       "==PROF== Disconnected from process 1"]


class NcuSummaryTest(unittest.TestCase):
    def test_rows_are_read_in_order_in_microseconds(self):
        kernels = ncu_summary.read_kernels(LOG)
        self.assertEqual([round(us, 3) for _, us in kernels], [2.5, 1.5, 5.0, 2.0, 3.0])

    def test_names_lose_namespaces_and_parameters_but_keep_templates(self):
        self.assertEqual(ncu_summary.short_name(WGMMA), "attention_wgmma_kernel<128>")
        self.assertEqual(ncu_summary.short_name(EMBED), "embedding_kernel")
        self.assertEqual(ncu_summary.short_name("nvjet_x"), "nvjet_x")

    def test_segments_start_at_each_split_kernel(self):
        segments = ncu_summary.segments_of(ncu_summary.read_kernels(LOG), "embedding")
        self.assertEqual([len(s) for s in segments], [3, 2])
        self.assertEqual(len(ncu_summary.segments_of(ncu_summary.read_kernels(LOG), None)), 1)

    def test_main_totals_the_chosen_segments(self):
        with tempfile.NamedTemporaryFile("w", suffix=".csv", delete=False) as f:
            f.write("\n".join(LOG))
        try:
            out = io.StringIO()
            with contextlib.redirect_stdout(out):
                rc = ncu_summary.main([f.name, "--split", "embedding", "--segments", "1"])
            self.assertEqual(rc, 0)
            text = out.getvalue()
            self.assertIn("segment 0: 3 kernels, 9.0 us", text)
            self.assertIn("segments 1: 5.0 us", text)
            self.assertIn("1 calls  attention_wgmma_kernel<128>", text)
            self.assertNotIn("nvjet", text.split("by kernel:")[1])
            err = io.StringIO()
            with contextlib.redirect_stderr(err):
                self.assertEqual(ncu_summary.main([f.name, "--segments", "2"]), 1)
            self.assertIn("--segments: 2 is not a segment", err.getvalue())
        finally:
            os.unlink(f.name)

    def test_logs_without_csv_or_times_are_errors(self):
        with self.assertRaisesRegex(ValueError, "no CSV rows"):
            ncu_summary.read_kernels(["==PROF== nothing"])
        with self.assertRaisesRegex(ValueError, "no gpu__time_duration.sum rows"):
            ncu_summary.read_kernels([HEADER, row(0, EMBED, "byte", "1", metric="dram__bytes.sum")])
        with self.assertRaisesRegex(ValueError, "unknown time unit 'cycle'"):
            ncu_summary.read_kernels([HEADER, row(0, EMBED, "cycle", "1")])


if __name__ == "__main__":
    unittest.main()
