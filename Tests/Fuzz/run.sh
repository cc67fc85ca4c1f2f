#!/usr/bin/env bash
# Runs the libFuzzer harness (built by `make fuzz-build`) on each target for FUZZ_SECONDS seconds
# (or FUZZ_RUNS executions), starting from the committed seeds in Tests/Fuzz/corpus/TARGET and the
# inputs earlier runs found in .build-fuzz/corpus/TARGET (FUZZ_WORK=DIR: DIR/corpus/TARGET). A crash, sanitizer report, leak, timeout
# or out-of-memory stops the target and leaves the input in .build-fuzz/artifacts/; the script then
# exits non-zero. Prints one summary line per target (executions, seconds, new inputs, crashes).
#
#   FUZZ_SECONDS=600 FUZZ_RUNS=-1 FUZZ_TARGETS="reader modelfile" Tests/Fuzz/run.sh
set -uo pipefail
cd "$(dirname "$0")/../.."
DIR=.build-fuzz
BIN=$DIR/release/AERecFuzz
WORK=${FUZZ_WORK:-$DIR}   # corpus, artifacts and logs (a long campaign can use its own)
SECONDS_EACH=${FUZZ_SECONDS:-600}
RUNS=${FUZZ_RUNS:--1}
TARGETS=${FUZZ_TARGETS:-reader modelfile}
[ -x "$BIN" ] || { echo "fuzz: $BIN is missing (make fuzz-build)" >&2; exit 2; }
# scratch folders of harness processes that died on a signal (a clean exit removes its own)
for d in /dev/shm/aerec-fuzz-* /tmp/aerec-fuzz-*; do
    [ -d "$d" ] && ! kill -0 "${d##*-}" 2>/dev/null && rm -rf "$d"
done
status=0
for t in $TARGETS; do
    mkdir -p "$WORK/corpus/$t" "$WORK/artifacts"
    log="$WORK/$t.log"
    start=$(date +%s)
    # one BLAS thread: the model-file target scores tiny models; ASan's leak check runs at exit
    OPENBLAS_NUM_THREADS=1 AEREC_FUZZ_TARGET=$t ASAN_OPTIONS=detect_leaks=1:allocator_may_return_null=1 \
        "$BIN" "$WORK/corpus/$t" "Tests/Fuzz/corpus/$t" -max_total_time="$SECONDS_EACH" -runs="$RUNS" \
        -rss_limit_mb=2048 -malloc_limit_mb=2048 -timeout=20 -print_final_stats=1 -print_funcs=0 \
        -artifact_prefix="$WORK/artifacts/$t-" > "$log" 2>&1
    rc=$?
    runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1)
    added=$(sed -n 's/^stat::new_units_added: *//p' "$log" | tail -1)
    crashes=$(grep -c -E "^==[0-9]+==ERROR|^SUMMARY: |deadly signal|ERROR: libFuzzer" "$log")
    echo "fuzz $t: ${runs:-?} executions in $(( $(date +%s) - start )) s, ${added:-?} new inputs, $crashes crashes (exit $rc, log $log)"
    if [ $rc -ne 0 ] || [ "$crashes" -ne 0 ]; then
        status=1
        grep -E -A30 "^==[0-9]+==ERROR|deadly signal|ERROR: libFuzzer" "$log" | head -60
        ls -1 "$WORK"/artifacts/"$t"-* 2>/dev/null | sed 's/^/  artifact: /'
    fi
done
exit $status
