#!/usr/bin/env python3
"""The instruction mix of kernels' machine code (SASS), per function and per loop.

Reads `cuobjdump --dump-sass` output (a file or standard input). For each function whose
name matches --function: its instruction count, then every loop (a backward branch and
its target: the instructions between them), innermost first, with the count of each
instruction class. A kernel whose time is a latency-bound instruction chain (the wgmma
attention kernel: ~1,040 instructions per warp per 64-key block under ncu) is shortened
where its loop body spends instructions: address arithmetic, conversions, barriers.
Standard library only.

    cuobjdump --dump-sass cuda_attention_wgmma.cu.o > wgmma.sass
    python3 tools/sass_mix.py wgmma.sass --function 'attention_wgmma_kernel.*Li128ELb0E'
"""
import argparse
import re
import sys
from collections import Counter

FUNCTION = re.compile(r"^\s*Function : (\S+)\s*$")
LABEL = re.compile(r"^\s*(\.L_x_\d+):\s*$")
# /*0a80*/   @!P0 FFMA R4, R5, R6, R4 ;   /* 0x... */
INSTRUCTION = re.compile(
    r"^\s*/\*([0-9a-f]+)\*/\s+(?:@!?U?P[T0-9]+\s+)?([A-Z][A-Z0-9_]*)([.A-Z0-9_]*)([^;]*);")
BRANCH_TARGET = re.compile(r"`?\(?(\.L_x_\d+)\)?|(0x[0-9a-f]+)")

# Instruction classes by opcode (the part before the first '.').
CLASSES = {
    "tensor": {"HGMMA", "HMMA", "IMMA", "WARPGROUP"},
    "fp32": {"FFMA", "FMUL", "FADD", "FMNMX", "FSETP", "FSEL", "FSWZADD", "FCHK"},
    "special": {"MUFU"},
    "convert": {"F2F", "F2FP", "F2I", "I2F", "I2FP", "FRND"},
    "integer": {"IMAD", "IADD3", "IADD", "LEA", "LOP3", "SHF", "ISETP", "SEL", "IMNMX", "PRMT",
                "IABS", "POPC", "FLO", "BMSK", "SGXT", "VIADD", "VIMNMX", "R2UR", "S2UR", "UIADD3",
                "UIMAD", "ULEA", "ULOP3", "USHF", "UMOV", "UISETP", "USEL", "UPRMT", "ULDC", "PLOP3",
                "P2R", "R2P", "VOTE", "VOTEU"},
    "move": {"MOV", "MOV32I", "S2R", "CS2R", "SHFL", "LDC"},
    "shared": {"LDS", "STS", "LDSM", "STSM", "ATOMS"},
    "global": {"LDG", "STG", "LDGSTS", "LD", "ST", "ATOMG", "RED", "LDGDEPBAR", "UBLKCP", "UTMALDG"},
    "sync": {"BAR", "SYNCS", "DEPBAR", "WARPSYNC", "MEMBAR", "ERRBAR", "CCTL", "FENCE", "ARRIVES",
             "NANOSLEEP", "USETMAXREG"},
    "control": {"BRA", "BRX", "JMP", "EXIT", "RET", "CALL", "BSSY", "BSYNC", "YIELD", "NOP",
                "ELECT", "ACQBULK", "WARPGROUPSET", "BREAK"},
}
CLASS_OF = {op: name for name, ops in CLASSES.items() for op in ops}


def instruction_class(opcode):
    return CLASS_OF.get(opcode, "other")


def read_functions(lines):
    """{function name: [(address, opcode, suffix, operands)]} and each one's labels.

    Labels ('.L_x_12:') are resolved to the address of the instruction that follows."""
    functions, labels = {}, {}
    name, pending = None, []
    for line in lines:
        m = FUNCTION.match(line)
        if m:
            name = m.group(1)
            functions[name], labels[name], pending = [], {}, []
            continue
        if name is None:
            continue
        m = LABEL.match(line)
        if m:
            pending.append(m.group(1))
            continue
        m = INSTRUCTION.match(line)
        if m:
            address = int(m.group(1), 16)
            for label in pending:
                labels[name][label] = address
            pending = []
            functions[name].append((address, m.group(2), m.group(3), m.group(4)))
    return functions, labels


def loops(code, labels):
    """[(first address, branch address)] of every backward branch, innermost first."""
    found = []
    for address, opcode, _, operands in code:
        if opcode != "BRA":
            continue
        m = BRANCH_TARGET.search(operands)
        if not m:
            continue
        target = labels.get(m.group(1)) if m.group(1) else int(m.group(2), 16)
        if target is not None and target <= address:
            found.append((target, address))
    return sorted(set(found), key=lambda span: (span[1] - span[0], span[0]))


def mix(code, first=None, last=None):
    """Counter of instruction classes (and 'total') over [first, last] (all if None)."""
    counts = Counter()
    for address, opcode, _, _ in code:
        if first is not None and not first <= address <= last:
            continue
        counts[instruction_class(opcode)] += 1
        counts["total"] += 1
    return counts


def opcodes(code, first, last, top):
    counts = Counter(op + suffix for address, op, suffix, _ in code if first <= address <= last)
    return counts.most_common(top)


def describe(counts):
    parts = [f"{name} {counts[name]}" for name in sorted(counts, key=lambda k: -counts[k])
             if name != "total"]
    return f"{counts['total']} instructions: " + ", ".join(parts)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("sass", nargs="?", help="cuobjdump --dump-sass output (default stdin)")
    parser.add_argument("--function", default=".", help="regex on the (mangled) function name")
    parser.add_argument("--loops", type=int, default=4, help="loops to list per function")
    parser.add_argument("--top", type=int, default=12, help="opcodes to list per loop")
    args = parser.parse_args(argv)
    if args.sass:
        with open(args.sass, encoding="utf-8", errors="replace") as f:
            lines = f.read().splitlines()
    else:
        lines = sys.stdin.read().splitlines()
    functions, labels = read_functions(lines)
    pattern = re.compile(args.function)
    shown = 0
    for name, code in functions.items():
        if not pattern.search(name):
            continue
        shown += 1
        print(f"{name}\n  whole function, {describe(mix(code))}")
        for first, last in loops(code, labels[name])[: args.loops]:
            print(f"  loop {first:#06x}..{last:#06x}, {describe(mix(code, first, last))}")
            top = ", ".join(f"{op} {n}" for op, n in opcodes(code, first, last, args.top))
            print(f"    most frequent: {top}")
    if shown == 0:
        print(f"sass_mix.py: no function matches '{args.function}'", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
