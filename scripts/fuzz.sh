#!/usr/bin/env bash
# Runs every fuzz harness for a fixed budget: the libFuzzer harnesses over the C++ kernels
# (fuzz/fuzz_*.cpp, built by fuzz/build.sh with ASan + UBSan) and the Python API harness
# (fuzz/fuzz_api.py, atheris when installed, else a hypothesis-driven loop).
#
#   FUZZ_SECONDS   budget per harness in seconds (default 600)
#   FUZZ_TARGETS   space-separated subset, e.g. "lbp warp api" (default: all)
#   FUZZ_JOBS      parallel libFuzzer workers per harness (default 1)
#
# Working corpora and crash artifacts go to build/fuzz/ (ignored by git); fuzz/corpus/<name>/
# seeds each run. A crash leaves build/fuzz/artifacts/<name>/crash-*: copy it to
# fuzz/regressions/<name>/ and tests/test_fuzz_regressions.py replays it through the Python API.
# Exit status: 0 when every harness ran its budget clean, 1 when any found a crash.
# Needs clang (Debian: apt-get install clang-14 libclang-rt-14-dev).
set -uo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
SECONDS_EACH=${FUZZ_SECONDS:-600}
JOBS=${FUZZ_JOBS:-1}
TARGETS=${FUZZ_TARGETS:-}
if [[ -z $TARGETS ]]; then
    for f in fuzz/fuzz_*.cpp; do n=$(basename "$f" .cpp); TARGETS+="${n#fuzz_} "; done
    TARGETS+="api"
fi
OUT=$ROOT/build/fuzz
mkdir -p "$OUT"
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=1:symbolize=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}

cxx_targets=()
for t in $TARGETS; do [[ $t != api ]] && cxx_targets+=("fuzz_$t"); done
if [[ ${#cxx_targets[@]} -gt 0 ]]; then
    fuzz/build.sh "${cxx_targets[@]}" || { echo "fuzz.sh: build failed" >&2; exit 2; }
fi

status=0
summary=()
for t in $TARGETS; do
    log=$OUT/run_$t.log
    start=$(date +%s)
    if [[ $t == api ]]; then
        echo "=== api (Python) for ${SECONDS_EACH}s"
        mkdir -p "$OUT/corpus/api" "$OUT/artifacts/api"
        seeds=()
        [[ -d fuzz/corpus/api ]] && seeds+=("fuzz/corpus/api")
        python fuzz/fuzz_api.py -max_total_time="$SECONDS_EACH" -timeout=30 \
            -artifact_prefix="$OUT/artifacts/api/" -rss_limit_mb=4096 \
            "$OUT/corpus/api" "${seeds[@]}" >"$log" 2>&1
        rc=$?
    else
        echo "=== $t (libFuzzer, ASan+UBSan) for ${SECONDS_EACH}s"
        mkdir -p "$OUT/corpus/$t" "$OUT/artifacts/$t"
        seeds=()
        [[ -d fuzz/corpus/$t ]] && seeds+=("fuzz/corpus/$t")
        par=()
        # -jobs writes fuzz-N.log into the working directory: run from $OUT.
        [[ $JOBS -gt 1 ]] && par=(-jobs="$JOBS" -workers="$JOBS")
        (cd "$OUT" && "$OUT/fuzz_$t" -max_total_time="$SECONDS_EACH" -timeout=10 \
            -rss_limit_mb=2048 -max_len=4096 -print_final_stats=1 "${par[@]}" \
            -artifact_prefix="$OUT/artifacts/$t/" "$OUT/corpus/$t" "${seeds[@]/#/$ROOT/}" \
            >"$log" 2>&1)
        rc=$?
    fi
    took=$(( $(date +%s) - start ))
    execs=$(grep -E 'stat::number_of_executed_units|^#[0-9]+.*DONE' "$log" | tail -1 |
            grep -oE '[0-9]+' | head -1)
    bad='ERROR: (Address|Undefined|libFuzzer)|runtime error:|invariant violated|Uncaught Python'
    if [[ $rc -eq 0 ]] && ! grep -qE "$bad" "$log"; then
        summary+=("$t: clean, ${took}s, ${execs:-?} inputs (log $log)")
    else
        status=1
        summary+=("$t: FAILED rc=$rc after ${took}s; see $log and $OUT/artifacts/$t/")
        grep -E 'ERROR:|runtime error:|invariant violated|Traceback|Error' "$log" | head -5
    fi
done
echo
echo "=== fuzz summary (FUZZ_SECONDS=$SECONDS_EACH)"
printf '%s\n' "${summary[@]}"
exit $status
