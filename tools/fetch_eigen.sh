#!/bin/sh
# Copies the Eigen headers from the local RcppEigen installation into
# tools/eigen (ignored by git), for building tools/ on a machine without R:
# carry tools/eigen there along with the source tree.
set -e
here=$(cd "$(dirname "$0")" && pwd)
src=${1:-}
if [ -z "$src" ]; then
  if command -v Rscript >/dev/null 2>&1; then
    src=$(Rscript -e 'cat(system.file("include", package = "RcppEigen"))' 2>/dev/null || true)
  fi
  [ -n "$src" ] || src=/usr/lib/R/site-library/RcppEigen/include
fi
if [ ! -f "$src/Eigen/Dense" ]; then
  echo "fetch_eigen.sh: no Eigen/Dense under '$src'; pass the folder holding Eigen/ as the argument" >&2
  exit 1
fi
rm -rf "$here/eigen"
mkdir -p "$here/eigen"
cp -R "$src/Eigen" "$here/eigen/"
echo "fetch_eigen.sh: copied $src/Eigen to $here/eigen/Eigen ($(du -sh "$here/eigen" | cut -f1))"
