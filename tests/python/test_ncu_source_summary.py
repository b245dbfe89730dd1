"""Tests of tools/ncu_source_summary.py (stdlib only): python3 -m unittest discover -s tests/python"""
import contextlib
import io
import os
import sys
import tempfile
import unittest

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path.insert(0, os.path.join(ROOT, "tools"))
import ncu_source_summary  # noqa: E402

# ncu's source page as CSV: a line naming the kernel, then the instruction table (only the
# columns the tool reads, in ncu's spelling): set-up run once, a loop body run 4 times by
# two warps, the end run once.
CSV = """\
"Kernel Name","kernel(int)",
"Address","Source","Warp Stall Sampling (All Samples)","Instructions Executed","stall_wait","stall_long_sb","stall_barrier","stall_long_sb (Not Issued)"
"0x10","  LDC R1, c[0x0][0x28]","2","2","2","0","0","0"
"0x20","  LDG.E R2, desc[UR4][R2.64]","8","2","0","8","0","8"
"0x30","  HGMMA.64x64x16.F32.BF16 R8, R4, gdesc[UR8], RZ","50","8","10","0","0","0"
"0x40","  WARPGROUP.DEPBAR.LE gsb0, 0x0","30","8","0","0","30","0"
"0x50","  EXIT","10","2","10","0","0","0"
"""


class NcuSourceSummaryTest(unittest.TestCase):
    def test_runs_split_where_the_execution_count_changes(self):
        self.assertEqual(ncu_source_summary.runs_of_equal_counts([2, 2, 8, 8, 2], [2, 8, 50, 30, 10]),
                         [(0, 1, 2, 10), (2, 3, 8, 80), (4, 4, 2, 10)])
        self.assertEqual(ncu_source_summary.runs_of_equal_counts([], []), [])

    def test_report_names_the_loop_and_its_hottest_instruction(self):
        with tempfile.NamedTemporaryFile("w", suffix=".csv", delete=False) as f:
            f.write(CSV)
        try:
            out = io.StringIO()
            with contextlib.redirect_stdout(out):
                self.assertEqual(ncu_source_summary.main([f.name, "--top", "1"]), 0)
        finally:
            os.unlink(f.name)
        text = out.getvalue()
        self.assertIn("5 instructions, 100 stall samples", text)
        self.assertIn("largest reasons: barrier 30.0 %, wait 22.0 %, long_sb 8.0 %", text)
        self.assertIn("[    2,     3]  executed        8     2 instructions      80 samples   80.0 %",
                      text)
        hottest = text.split("most samples:\n")[1].splitlines()
        self.assertEqual(len(hottest), 1)
        self.assertIn("HGMMA.64x64x16", hottest[0])
        self.assertIn("wait:10", hottest[0])

    def test_a_file_without_the_samples_column_is_a_one_line_error(self):
        with tempfile.NamedTemporaryFile("w", suffix=".csv", delete=False) as f:
            f.write('"Kernel Name","kernel"\n"Address","Source"\n')
        try:
            err = io.StringIO()
            with contextlib.redirect_stderr(err):
                self.assertEqual(ncu_source_summary.main([f.name]), 1)
        finally:
            os.unlink(f.name)
        self.assertIn("no column 'Warp Stall Sampling (All Samples)'", err.getvalue())
        self.assertEqual(len(err.getvalue().strip().splitlines()), 1)


if __name__ == "__main__":
    unittest.main()
