#!/bin/sh
# Checks that AVX code in the built library is confined to the kernels of the
# levels that need it (src/core/kernels/dispatch.h): every function with a
# VEX/EVEX instruction (a v... mnemonic, ymm/zmm or mask registers) must be in
# namespace fastgmm::avx2 or fastgmm::avx512, and those of fastgmm::avx2 must
# use no AVX-512 (zmm, mask registers k0-k7, xmm16-31/ymm16-31).
#   sh tools/check_dispatch.sh [path/to/fastgmm.so]
# Prints the count of functions per namespace that use AVX, and exits 1 on a
# violation (listing the functions).
LIB=${1:-$(Rscript -e 'cat(system.file("libs", "fastgmm.so", package = "fastgmm"))')}
[ -f "$LIB" ] || { echo "no library: $LIB"; exit 2; }
objdump -d --no-show-raw-insn -C "$LIB" | awk '
  /^[0-9a-f]+ <.*>:$/ { fn = substr($0, index($0, "<") + 1); sub(/>:$/, "", fn); next }
  fn == "" { next }
  {
    n = split($0, f, "\t"); if (n < 2) next
    ins = f[2]
    avx = ins ~ /^v[a-z]/ || ins ~ /%[yz]mm/ || ins ~ /^k[a-z]+ / || ins ~ /%k[0-7]/
    if (!avx) next
    evex = ins ~ /%zmm/ || ins ~ /%k[0-7]/ || ins ~ /%[xy]mm(1[6-9]|2[0-9]|3[01])/
    if (fn ~ /fastgmm::avx512::/) ns = "fastgmm::avx512"
    else if (fn ~ /fastgmm::avx2::/) ns = (evex ? "AVX-512 IN fastgmm::avx2" : "fastgmm::avx2")
    else ns = "OUTSIDE the avx2/avx512 namespaces"
    if (!((ns, fn) in seen)) { seen[ns, fn] = 1; count[ns]++; if (ns ~ /OUTSIDE|IN/) bad[fn] = ns }
  }
  END {
    for (ns in count) printf "%6d functions with AVX instructions: %s\n", count[ns], ns
    nb = 0; for (fn in bad) { print "VIOLATION (" bad[fn] "): " fn; nb++ }
    if (nb == 0) print "ok: no AVX instruction outside the avx2/avx512 kernels"
    exit (nb > 0)
  }'
