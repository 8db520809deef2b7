#!/usr/bin/env python3
"""Rewrites src/cuda/*.cu and *.cuh for the CPU emulation (tools/emu_check.sh):
kernel<<<grid, block, smem, stream>>>(args) becomes
emu_launch(kernel, grid, block, smem, stream, args), and the dynamic shared
memory declaration becomes a pointer to the emulator's buffer.
usage: translate.py SRC_DIR OUT_DIR"""
import pathlib
import re
import sys

src, out = pathlib.Path(sys.argv[1]), pathlib.Path(sys.argv[2])
out.mkdir(parents=True, exist_ok=True)
launch = re.compile(r"([A-Za-z_][\w:]*(?:<[^<>;]*>)?)<<<(.*?)>>>\(", re.S)
smem = re.compile(r"extern\s+__shared__\s+__align__\(\d+\)\s+unsigned\s+char\s+(\w+)\[\];")
for f in list(src.glob("*.cu")) + list(src.glob("*.cuh")):
    text = f.read_text()
    text, n_launch = launch.subn(lambda m: "emu_launch(%s, %s, " % (m.group(1), m.group(2)), text)
    text, n_smem = smem.subn(lambda m: "unsigned char* %s = emu_dynamic_smem();" % m.group(1), text)
    if "<<<" in text:
        sys.exit("translate.py: a launch in %s was not rewritten" % f)
    name = f.name[:-3] + "_emu.cpp" if f.suffix == ".cu" else f.name
    (out / name).write_text(text)
    print("translate.py: %s: %d launches, %d shared-memory declarations" % (f.name, n_launch, n_smem))
