#!/usr/bin/env bash
# CPU profile of one tarshift step of the comparison benchmark, summarized.
#
#   bash benchmarks/profile.sh [A|B] [first|unchanged|changed|stream] [cold|warm]
#
# Uses the corpora and the tarshift build snapshot that benchmarks/compare.sh made (run it, or
# BENCH_QUICK=1 for the small corpora: BENCH_QUICK=1 bash benchmarks/profile.sh ...). The steps
# before the profiled one run unprofiled into a fresh savedir; the profiled step runs as
#   node --cpu-prof --cpu-prof-dir=benchmarks/work/profile/<corpus>-<step>-<cache> bin/tarshift ...
# which writes one .cpuprofile per thread (main thread and each store worker), then
# benchmarks/cpuprofile-top.mjs prints the top self-time functions of each.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
CORPUS=${1:-A}
STEP=${2:-unchanged}
CACHE=${3:-cold}
MODE=$([[ ${BENCH_QUICK:-0} == 1 ]] && echo quick || echo full)
WORK=$ROOT/benchmarks/work/$MODE
SRC=$WORK/corpus-${CORPUS,,}
SNAP=$ROOT/benchmarks/work/tarshift-snapshot
T=$SNAP/bin/tarshift
[[ -d $SRC && -x $T ]] || { echo "profile.sh: run benchmarks/compare.sh first (corpus or snapshot missing)" >&2; exit 2; }

OUT=$ROOT/benchmarks/work/profile/$CORPUS-$STEP-$CACHE
HOME_DIR=$ROOT/benchmarks/work/profile/home
rm -rf "$OUT" "$HOME_DIR"
mkdir -p "$OUT" "$HOME_DIR/cache"
export XDG_CACHE_HOME=$HOME_DIR/cache
REPO=$HOME_DIR/repo

prepare() {
  if [[ $CACHE == cold ]]; then sync; echo 3 > /proc/sys/vm/drop_caches
  else tar -cf - -C "$SRC" . | cat > /dev/null; fi
}
save() { "$@" save -r "$REPO" --subset bench "$SRC" --json --progress none; }
run_profiled() {
  prepare
  /usr/bin/time -f 'wall %e s, user %U s, sys %S s, peak RSS %M KiB' -o "$OUT/time.txt" \
    node --cpu-prof --cpu-prof-dir="$OUT" "$T" "$@" > "$STDOUT" 2> "$OUT/stderr" || true
  echo "== $CORPUS $STEP ($CACHE page cache): $(cat "$OUT/time.txt")"
  [[ $STDOUT == /dev/null ]] || { head -c 600 "$STDOUT"; echo; }
}

"$T" init -r "$REPO" > /dev/null
STDOUT=$OUT/stdout
[[ $STEP == stream ]] && STDOUT=/dev/null # the tar stream itself is not kept
case $STEP in
  first) run_profiled save -r "$REPO" --subset bench "$SRC" --json --progress none ;;
  unchanged)
    save "$T" > /dev/null
    run_profiled save -r "$REPO" --subset bench "$SRC" --json --progress none ;;
  changed)
    save "$T" > /dev/null
    save "$T" > /dev/null
    # same change as compare.mjs for corpus A: a line appended to every 100th regular file,
    # undone afterwards by truncating back to the recorded size
    [[ $CORPUS == A ]] || { echo "profile.sh: 'changed' is implemented for corpus A only" >&2; exit 2; }
    find "$SRC" -type f -print0 | LC_ALL=C sort -z | awk -v RS='\0' -v ORS='\0' 'NR % 100 == 0' > "$OUT/changed.list"
    while IFS= read -r -d '' f; do printf '%s\0%s\0' "$f" "$(stat -c %s "$f")"; done < "$OUT/changed.list" > "$OUT/undo.list"
    trap 'while IFS= read -r -d "" f && IFS= read -r -d "" n; do truncate -s "$n" "$f"; done < "$OUT/undo.list"' EXIT
    while IFS= read -r -d '' f; do echo "tarshift profile: changed" >> "$f"; done < "$OUT/changed.list"
    run_profiled save -r "$REPO" --subset bench "$SRC" --json --progress none ;;
  stream)
    save "$T" > /dev/null
    run_profiled restore -r "$REPO" latest ;;
  *) echo "profile.sh: unknown step $STEP" >&2; exit 2 ;;
esac
node benchmarks/cpuprofile-top.mjs "$OUT" --top "${TOP:-20}"
rm -rf "$HOME_DIR"
