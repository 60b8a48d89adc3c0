#!/usr/bin/env bash
# A/B runs of two builds of tarshift, alternated, on a machine whose speed drifts (shared cores):
# one build after the other, N times each, so that both see the same drift.
#
#   bash benchmarks/ab.sh snap NAME
#       copy the current build (bin/, dist/lib, build/Release) to benchmarks/work/ab/NAME
#   bash benchmarks/ab.sh run A B N [cold|warm] [fresh REPO] -- ARGS...
#       run `tarshift ARGS` with snapshots A and B in turn, N times each, stdout to /dev/null
#       (bin/tarshift run itself, as make bench runs it: its interpreter line's V8 flags count);
#       cold: the page cache is dropped before each run (root); fresh REPO: REPO is moved aside
#       and created again (tarshift init) before each run, untimed (first saves); what was moved
#       aside is deleted once every run is done. Prints each
#       build's times (sorted) and their median.
#
# Example (the unchanged save of doc/performance.md, session 9):
#   bash benchmarks/ab.sh run before after 5 cold -- save -r /tmp/repo --subset a /tmp/corpus-a --progress none
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
AB=$ROOT/benchmarks/work/ab

case "${1:-}" in
  snap)
    [[ $# -eq 2 ]] || { echo "usage: $0 snap NAME" >&2; exit 2; }
    S=$AB/$2
    rm -rf "$S"
    mkdir -p "$S/dist" "$S/build"
    cp -a bin package.json "$S/"
    cp -a dist/lib "$S/dist/"
    cp -a build/Release "$S/build/"
    echo "snapshot $2: $(git rev-parse --short HEAD 2>/dev/null || echo unknown)$(git status --porcelain -- lib native | grep -q . && echo ' (with uncommitted changes)')"
    ;;
  run)
    usage() { echo "usage: $0 run A B N [cold|warm] -- ARGS..." >&2; exit 2; }
    [[ $# -ge 6 ]] || usage
    A=$2 B=$3 N=$4 MODE=warm
    shift 4
    if [[ $1 == cold || $1 == warm ]]; then MODE=$1; shift; fi
    FRESH=
    if [[ $1 == fresh ]]; then FRESH=$2; shift 2; fi
    [[ ${1:-} == -- ]] || usage
    shift
    for s in "$A" "$B"; do [[ -x $AB/$s/bin/tarshift ]] || { echo "no snapshot $s (run: $0 snap $s)" >&2; exit 2; }; done
    declare -A times
    for ((i = 0; i < N; i++)); do
      for s in "$A" "$B"; do
        # Moved aside, deleted at the end: ext4 without a journal passes over inodes freed in the
        # last minutes when it makes new ones (benchmarks/compare.mjs, discard()).
        if [[ -n $FRESH ]]; then
          if [[ -e $FRESH ]]; then mkdir -p "$AB/trash" && mv "$FRESH" "$AB/trash/$$.$i.$s"; fi
          "$AB/$s/bin/tarshift" init -r "$FRESH" > /dev/null
        fi
        if [[ $MODE == cold ]]; then sync; echo 3 > /proc/sys/vm/drop_caches; fi
        t0=$(date +%s.%N)
        "$AB/$s/bin/tarshift" "$@" > /dev/null 2>&1 || echo "$s: run $((i + 1)) exited $?" >&2
        t1=$(date +%s.%N)
        times[$s]+="$(awk -v a="$t0" -v b="$t1" 'BEGIN { print b - a }') "
      done
    done
    rm -rf "$AB/trash"
    for s in "$A" "$B"; do
      sorted=$(echo "${times[$s]}" | tr ' ' '\n' | grep . | sort -n | xargs printf '%.2f ')
      median=$(echo "$sorted" | tr ' ' '\n' | grep . | awk '{a[NR] = $1} END {print a[int((NR + 1) / 2)]}')
      echo "$s: $sorted median $median"
    done
    ;;
  *)
    sed -n '2,15p' "$0" >&2
    exit 2
    ;;
esac
