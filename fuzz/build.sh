#!/usr/bin/env bash
# Builds the libFuzzer harnesses fuzz/fuzz_*.cpp against the C++ kernels (cpp/src) with
# clang -fsanitize=fuzzer,address,undefined into build/fuzz/ (ignored by git).
#
# Needs clang++ with the compiler-rt fuzzer runtime. Debian 12: apt-get install clang-14
# libclang-rt-14-dev. CXX overrides the compiler; OUT_DIR the output folder.
# Usage: fuzz/build.sh [harness-name ...]   (default: every fuzz/fuzz_*.cpp)
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
OUT_DIR=${OUT_DIR:-$ROOT/build/fuzz}
if [[ -z "${CXX:-}" ]]; then
    for c in clang++ clang++-19 clang++-18 clang++-17 clang++-16 clang++-15 clang++-14; do
        if command -v "$c" >/dev/null; then CXX=$c; break; fi
    done
fi
if [[ -z "${CXX:-}" ]]; then
    echo "fuzz/build.sh: clang++ not found; install it (Debian: apt-get install clang-14" \
         "libclang-rt-14-dev)" >&2
    exit 2
fi
SAN="-fsanitize=address,undefined -fno-sanitize-recover=undefined -fno-omit-frame-pointer"
FLAGS="-std=c++17 -O1 -g $SAN -I$ROOT/cpp/include"
AVX2=0
if [[ $(uname -m) == x86_64 ]]; then AVX2=1; FLAGS+=" -DFASTLIVE_HAVE_AVX2=1"; fi
mkdir -p "$OUT_DIR/obj"

# Kernel objects, instrumented for coverage (fuzzer-no-link) and the sanitizers. Same flags per
# file as CMakeLists.txt (avx2.cpp with -mavx2 -mfma; the area kernels with -ffp-contract=off,
# they reproduce OpenCV's float rounding). Harness fuzz_<family> links
# cpp/src/*.cpp plus cpp/src/kernels/<family>/*.cpp only, so a family under construction
# elsewhere does not break the others.
compile() {  # src -> prints the object path
    local src=$1 obj extra=""
    obj="$OUT_DIR/obj/$(echo "${src#cpp/src/}" | tr / _).o"
    [[ $src == */avx2.cpp ]] && extra="-mavx2 -mfma"
    [[ $src == */kernels/area/* ]] && extra+=" -ffp-contract=off"
    if [[ ! -f $obj || $src -nt $obj || -n $(find cpp/include -newer "$obj" -name '*.hpp') ]]; then
        # shellcheck disable=SC2086
        "$CXX" $FLAGS $extra -fsanitize=fuzzer-no-link -c "$src" -o "$obj" >&2 || return 1
    fi
    echo "$obj"
}

names=("$@")
if [[ ${#names[@]} -eq 0 ]]; then
    for f in fuzz/fuzz_*.cpp; do names+=("$(basename "$f" .cpp)"); done
fi
for name in "${names[@]}"; do
    family=${name#fuzz_}
    objs=()
    for src in cpp/src/*.cpp cpp/src/kernels/"$family"/{scalar,common,avx2}.cpp; do
        [[ -f $src ]] || continue
        [[ $src == */avx2.cpp && $AVX2 == 0 ]] && continue
        obj=$(compile "$src") || exit 1
        objs+=("$obj")
    done
    # shellcheck disable=SC2086
    "$CXX" $FLAGS -fsanitize=fuzzer "fuzz/$name.cpp" "${objs[@]}" -o "$OUT_DIR/$name"
    echo "built $OUT_DIR/$name"
done
