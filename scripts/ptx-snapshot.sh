#!/usr/bin/env bash
# The PTX of every CUDA source of a configured build, as the working tree is now: proof that
# a change to CUDA code leaves the kernels as they were, without a GPU. nvcc runs each
# source's own compile command from BUILD/compile_commands.json with -ptx instead of -c.
#   scripts/ptx-snapshot.sh BUILD OUTDIR [NAME_REGEX]
# Take a snapshot before the change and one after, then compare them:
#   scripts/ptx-snapshot.sh /tmp/build /tmp/ptx-before 'attention|gemm'
#   (edit)
#   scripts/ptx-snapshot.sh /tmp/build /tmp/ptx-after 'attention|gemm'
#   diff -rq /tmp/ptx-before /tmp/ptx-after && echo "the same PTX"
# BUILD: configured with -DCASCADE_CUDA=ON (CMAKE_EXPORT_COMPILE_COMMANDS is on in
# CMakeLists.txt). NAME_REGEX (default: every file) selects sources by file name.
set -euo pipefail
build=${1:?usage: scripts/ptx-snapshot.sh BUILD OUTDIR [NAME_REGEX]}
out=${2:?usage: scripts/ptx-snapshot.sh BUILD OUTDIR [NAME_REGEX]}
pattern=${3:-.}
commands="$build/compile_commands.json"
[ -f "$commands" ] || {
  echo "ptx-snapshot: no $commands (configure the build first)" >&2
  exit 2
}
mkdir -p "$out"
out=$(cd "$out" && pwd)
# One line per CUDA source: its folder, its name, then its command with -ptx into OUTDIR.
python3 - "$commands" "$out" "$pattern" <<'EOF' >"$out/.commands"
import json, os, re, shlex, sys
commands, out, pattern = sys.argv[1], sys.argv[2], re.compile(sys.argv[3])
for entry in json.load(open(commands)):
    name = os.path.basename(entry["file"])
    if not name.endswith(".cu") or not pattern.search(name):
        continue
    args = shlex.split(entry["command"])
    ptx = []
    skip = False
    for arg in args:
        if skip:
            skip = False
            continue
        if arg == "-o":
            skip = True
            continue
        ptx.append("-ptx" if arg == "-c" else arg)
    ptx += ["-o", os.path.join(out, name + ".ptx")]
    print(entry["directory"], name, shlex.join(ptx), sep="\t")
EOF
count=0
while IFS=$'\t' read -r directory name command; do
  (cd "$directory" && eval "$command") || {
    echo "ptx-snapshot: nvcc failed on $name" >&2
    exit 1
  }
  count=$((count + 1))
done <"$out/.commands"
rm -f "$out/.commands"
[ "$count" -gt 0 ] || {
  echo "ptx-snapshot: no CUDA source matches '$pattern' in $commands" >&2
  exit 1
}
echo "ptx-snapshot: $count files into $out"
