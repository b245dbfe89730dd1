"""Tests of tools/sass_mix.py (stdlib only): python3 -m unittest discover -s tests/python"""
import contextlib
import io
import os
import sys
import tempfile
import unittest

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path.insert(0, os.path.join(ROOT, "tools"))
import sass_mix  # noqa: E402

# cuobjdump's layout: a function header, instructions with their address and encoding,
# labels before branch targets; an outer loop (0x0030..0x00c0) around an inner one
# (0x0050..0x0090) that branches back by label, and a second function.
SASS = """
Fatbin elf code:
================
arch = sm_90a

	code for sm_90a
		Function : _Z6kernelv
	.headerflags    @"EF_CUDA_SM90 EF_CUDA_VIRTUAL_SM(EF_CUDA_SM90)"
        /*0000*/                   LDC R1, c[0x0][0x28] ;                  /* 0x00000a00ff017b82 */
                                                                           /* 0x000fe20000000800 */
        /*0010*/                   S2R R0, SR_TID.X ;                      /* 0x0000000000007919 */
        /*0020*/                   IMAD.MOV.U32 R2, RZ, RZ, 0x4 ;          /* 0x00000004ff027424 */
.L_x_1:
        /*0030*/                   LDGSTS.E.BYPASS.128 [R3], desc[UR4][R4.64] ;
        /*0040*/                   BAR.SYNC.DEFER_BLOCKING 0x0 ;
.L_x_0:
        /*0050*/                   HGMMA.64x64x16.F32.BF16 R24, gdesc[UR8], R24 ;
        /*0060*/                   MUFU.EX2 R5, R6 ;
        /*0070*/                   FFMA R7, R5, R8, R7 ;
        /*0080*/              @!P0 F2FP.BF16.F32.PACK_AB R9, R7, R5 ;
        /*0090*/               @P1 BRA `(.L_x_0) ;
        /*00a0*/                   IADD3 R2, R2, -0x1, RZ ;
        /*00b0*/                   ISETP.NE.AND P2, PT, R2, RZ, PT ;
        /*00c0*/               @P2 BRA `(.L_x_1) ;
        /*00d0*/                   BRA 0x200 ;
        /*00e0*/                   EXIT ;
		Function : _Z5otherv
        /*0000*/                   EXIT ;
"""


class SassMixTest(unittest.TestCase):
    def setUp(self):
        self.functions, self.labels = sass_mix.read_functions(SASS.splitlines())
        self.code = self.functions["_Z6kernelv"]

    def test_functions_instructions_and_labels_are_read(self):
        self.assertEqual(list(self.functions), ["_Z6kernelv", "_Z5otherv"])
        self.assertEqual(len(self.code), 15)
        self.assertEqual(self.code[2][1:3], ("IMAD", ".MOV.U32"))
        self.assertEqual(self.labels["_Z6kernelv"], {".L_x_1": 0x30, ".L_x_0": 0x50})

    def test_backward_branches_make_loops_innermost_first(self):
        # The forward branch to 0x200 is no loop.
        self.assertEqual(sass_mix.loops(self.code, self.labels["_Z6kernelv"]),
                         [(0x50, 0x90), (0x30, 0xC0)])

    def test_instructions_are_counted_by_class_within_a_loop(self):
        inner = sass_mix.mix(self.code, 0x50, 0x90)
        self.assertEqual(inner["total"], 5)
        self.assertEqual((inner["tensor"], inner["special"], inner["fp32"], inner["convert"],
                          inner["control"]), (1, 1, 1, 1, 1))
        outer = sass_mix.mix(self.code, 0x30, 0xC0)
        self.assertEqual((outer["total"], outer["global"], outer["sync"], outer["integer"]),
                         (10, 1, 1, 2))
        self.assertEqual(sass_mix.mix(self.code)["total"], 15)
        self.assertEqual(sass_mix.instruction_class("NOTANOPCODE"), "other")

    def test_main_prints_the_chosen_functions_and_fails_on_no_match(self):
        with tempfile.NamedTemporaryFile("w", suffix=".sass", delete=False) as f:
            f.write(SASS)
        try:
            out = io.StringIO()
            with contextlib.redirect_stdout(out):
                self.assertEqual(sass_mix.main([f.name, "--function", "kernel"]), 0)
            text = out.getvalue()
            self.assertIn("_Z6kernelv", text)
            self.assertNotIn("_Z5otherv", text)
            self.assertIn("loop 0x0050..0x0090, 5 instructions", text)
            with contextlib.redirect_stderr(io.StringIO()):
                self.assertEqual(sass_mix.main([f.name, "--function", "nothing"]), 1)
        finally:
            os.unlink(f.name)


if __name__ == "__main__":
    unittest.main()
