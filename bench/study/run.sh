#!/bin/sh
# `make study`: builds the study driver (release), trains every cell with two worker processes of
# one thread each (they share the queue of cells through lock files; finished cells are skipped, so
# an interrupted study resumes), then writes docs/results.md and docs/figures/*.svg.
#   STUDY_FORCE=1 make study    reruns every cell
#   STUDY_CELLS=ml-100k make study   only the cells of one dataset (or a model, or a cell id)
set -u
cd "$(dirname "$0")"
swift build -c release --product study || exit 1
mkdir -p results
rm -f results/*.lock
[ "${STUDY_FORCE:-0}" = "1" ] && rm -f results/*.json
cells="${STUDY_CELLS:-all}"
.build/release/study run --cells "$cells" --threads 1 --out results > results/worker1.log 2>&1 &
p1=$!
sleep 2
.build/release/study run --cells "$cells" --threads 1 --out results > results/worker2.log 2>&1 &
p2=$!
status=0
wait $p1 || status=1
wait $p2 || status=1
tail -n 3 results/worker1.log results/worker2.log
[ $status -eq 0 ] || { echo "a worker failed: see bench/study/results/worker*.log"; exit 1; }
.build/release/study report --out results --docs ../../docs
