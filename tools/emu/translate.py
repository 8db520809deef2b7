#!/usr/bin/env python3
"""Rewrites src/cuda/*.cu and *.cuh for the CPU emulation (tools/emu_check.sh):
kernel<<<grid, block, smem, stream>>>(args) becomes
emu_launch(kernel, grid, block, smem, stream, args), and the dynamic shared
memory declaration becomes a pointer to the emulator's buffer, and each
static shared array `__shared__ T name[N];` a static array registered with
the emulator (which checks static + dynamic shared memory per block).
usage: translate.py SRC_DIR OUT_DIR"""
import pathlib
import re
import sys

src, out = pathlib.Path(sys.argv[1]), pathlib.Path(sys.argv[2])
out.mkdir(parents=True, exist_ok=True)
launch = re.compile(r"([A-Za-z_][\w:]*(?:<[^<>;]*>)?)<<<(.*?)>>>\(", re.S)
smem = re.compile(r"extern\s+__shared__\s+__align__\(\d+\)\s+unsigned\s+char\s+(\w+)\[\];")
static = re.compile(r"(?<!extern )__shared__\s+([\w:<>]+)\s+(\w+)\[([^\]]+)\];")
for f in list(src.glob("*.cu")) + list(src.glob("*.cuh")):
    text = f.read_text()
    text, n_launch = launch.subn(lambda m: "emu_launch(%s, %s, " % (m.group(1), m.group(2)), text)
    text, n_smem = smem.subn(lambda m: "unsigned char* %s = emu_dynamic_smem();" % m.group(1), text)
    text, n_static = static.subn(
        lambda m: "static %s %s[%s]; emu_static_smem(%s, sizeof(%s));" % (
            m.group(1), m.group(2), m.group(3), m.group(2), m.group(2)), text)
    if re.search(r"__shared__", text.replace("#define __shared__", "")):
        sys.exit("translate.py: a shared-memory declaration in %s was not rewritten" % f)
    if "<<<" in text:
        sys.exit("translate.py: a launch in %s was not rewritten" % f)
    name = f.name[:-3] + "_emu.cpp" if f.suffix == ".cu" else f.name
    (out / name).write_text(text)
    print("translate.py: %s: %d launches, %d dynamic and %d static shared-memory declarations"
          % (f.name, n_launch, n_smem, n_static))
