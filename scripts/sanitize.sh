#!/usr/bin/env bash
# Builds fastlive with AddressSanitizer + UndefinedBehaviorSanitizer (-DFASTLIVE_SANITIZE=ON)
# into build/sanitize/ and runs the test suite against that build.
#
# The sanitized extension is built (incrementally, in build/sanitize/cmake) by a non-editable
# install into build/sanitize/site; build/sanitize/pkg/fastlive then holds links to the live
# sources in python/fastlive plus that sanitized _core, so the tests run today's Python code
# against the sanitized C++. Python runs with -S (the developer's editable-install .pth hook is
# not loaded) and PYTHONPATH=build/sanitize/pkg:<site-packages>. The ASan runtime is
# LD_PRELOADed because the Python interpreter itself is not instrumented. Leak detection is off
# (CPython frees little at exit by design); any ASan or UBSan report aborts the run.
#
# Usage: scripts/sanitize.sh [pytest args...]   (default: the whole suite, tests + benchmarks,
#        benchmarks with --benchmark-disable as in CI). SANITIZE_SKIP_BUILD=1 reuses the build.
# Time on the 2-core dev machine: see docs/security.md ("Sanitizers").
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
BUILD=$ROOT/build/sanitize
SITE=$BUILD/site
start=$(date +%s)

CC_BIN=${CC:-gcc}
libasan=$("$CC_BIN" -print-file-name=libasan.so)
if [[ ! -e $libasan || $libasan == libasan.so ]]; then
    echo "sanitize.sh: ASan runtime not found via $CC_BIN -print-file-name=libasan.so;" \
         "install gcc (or set CC to a compiler that ships it)" >&2
    exit 2
fi

if [[ ${SANITIZE_SKIP_BUILD:-0} != 1 || ! -d $SITE/fastlive ]]; then
    echo "=== building the sanitized extension into $BUILD"
    rm -rf "$SITE"
    flock /tmp/fastlive-build.lock python -m pip install -q --no-build-isolation --no-deps \
        --target "$SITE" \
        -C build-dir="$BUILD/cmake" \
        -C cmake.build-type=RelWithDebInfo \
        -C cmake.define.FASTLIVE_SANITIZE=ON \
        "$ROOT"
    echo "=== build took $(( $(date +%s) - start ))s"
fi

# libstdc++ is preloaded too: without it ASan cannot resolve the real __cxa_throw (python does
# not link libstdc++) and the first C++ exception thrown in any extension (cv2, onnxruntime)
# aborts with "CHECK failed: ... real___cxa_throw".
libstdcxx=$("${CXX:-g++}" -print-file-name=libstdc++.so)
PKG=$BUILD/pkg/fastlive
rm -rf "$BUILD/pkg"
mkdir -p "$PKG"
for f in "$ROOT"/python/fastlive/*; do
    case $f in *.so) continue ;; esac
    ln -s "$f" "$PKG/"
done
cp "$SITE"/fastlive/_core*.so "$PKG/"

site_packages=$(python -c 'import sysconfig; print(sysconfig.get_paths()["purelib"])')
export PYTHONPATH=$BUILD/pkg:$site_packages${PYTHONPATH:+:$PYTHONPATH}
export LD_PRELOAD=$libasan:$libstdcxx${LD_PRELOAD:+:$LD_PRELOAD}
# detect_leaks=0: CPython; alloc_dealloc_mismatch=0: third-party wheels (onnxruntime, cv2)
# mix allocators in ways that are not ours to fix.
asan="detect_leaks=0:alloc_dealloc_mismatch=0:abort_on_error=1:strict_string_checks=1"
export ASAN_OPTIONS=${ASAN_OPTIONS:-$asan}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}

# Check that the sanitized build is the one imported.
python -S - <<'PY'
import fastlive._core as c, sys
path = c.__file__
if "build/sanitize/pkg" not in path:
    sys.exit(f"sanitize.sh: imported {path}, not the sanitized build")
print("sanitized extension:", path)
PY

tests_start=$(date +%s)
set +e
python -S -m pytest -p no:cacheprovider -q "$@"
rc=$?
set -e
echo "=== sanitized test run: exit $rc, tests $(( $(date +%s) - tests_start ))s," \
     "total $(( $(date +%s) - start ))s"
exit $rc
