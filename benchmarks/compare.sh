#!/usr/bin/env bash
# make bench: tarshift against restic and borg, same corpora, same run (STYLE.md "Benchmarks").
#
#   bash benchmarks/compare.sh                 full run: corpus A (~50,000 files, copy of /usr/share)
#                                              and corpus B (4 x 512 MiB VM-image-like files), 3 runs
#   BENCH_QUICK=1 bash benchmarks/compare.sh   small trial: 5,000 files, 4 x 64 MiB, 1 run
#
# Environment:
#   BENCH_RUNS=N          runs per measurement, medians reported (default 3; 1 with BENCH_QUICK=1)
#   BENCH_TOOLS=LIST      subset of tarshift,restic,borg
#   BENCH_CORPORA=LIST    subset of A,B
#   BENCH_CACHE=MODE      auto (default: cold if /proc/sys/vm/drop_caches is writable, else warm),
#                         cold, warm
#   BENCH_DOC=0|1         replace "## Comparison with restic and borg" in doc/performance.md
#                         (default 1, 0 with BENCH_QUICK=1)
#   BENCH_SAVEDIR=sshfs   the repositories on an sshfs mount of a local directory, served by an
#                         sshd on 127.0.0.1 (scripts/sshfs-setup.sh; root); caches and corpora
#                         stay local. Writes "## Comparison with restic and borg, savedir over
#                         sshfs" instead. Default corpora then: A.
#
# Installs restic, borgbackup and GNU time from Debian when missing (needs root). Corpora and
# repositories live under benchmarks/work/ (gitignored); corpora are built once and reused.
# A full run took 26 minutes on 2 shared cores (cold page cache) and needs ~12 GB of free disk.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD

say() { printf '%s\n' "compare.sh: $*" >&2; }

# ---- tools
missing=()
command -v restic >/dev/null || missing+=(restic)
command -v borg >/dev/null || missing+=(borgbackup)
[[ -x /usr/bin/time ]] || missing+=(time)
if ((${#missing[@]})); then
  if [[ $(id -u) -ne 0 ]]; then
    say "missing ${missing[*]}; install them (apt-get install -y ${missing[*]}) or run as root"
    exit 2
  fi
  say "installing ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq "${missing[@]}" >/dev/null
fi

# ---- tarshift build (make bench builds first; a direct call builds if dist/ is missing)
if [[ ! -f dist/lib/cli/main.js ]]; then
  say "dist/ missing: npm run build"
  npm run --silent build
fi

# ---- snapshot of the build: other people may rebuild dist/ while the benchmark runs, and every
# run must measure the same code. node_modules still resolves from ROOT (a parent directory).
SNAP=$ROOT/benchmarks/work/tarshift-snapshot
rm -rf "$SNAP"
mkdir -p "$SNAP/dist" "$SNAP/build"
cp -a bin package.json "$SNAP/"
cp -a dist/lib "$SNAP/dist/"
cp -a build/Release "$SNAP/build/"
git rev-parse --short HEAD > "$SNAP/commit" 2>/dev/null || echo unknown > "$SNAP/commit"
git status --porcelain -- lib | wc -l > "$SNAP/dirty"
export BENCH_TARSHIFT=$SNAP/bin/tarshift

# ---- corpora
if [[ ${BENCH_QUICK:-0} == 1 ]]; then
  WORK=$ROOT/benchmarks/work/quick
  A_FILES=5000
  B_COUNT=4 B_MIB=64
  C_FILES=10000
else
  WORK=$ROOT/benchmarks/work/full
  A_FILES=0 # 0 = all of /usr/share (topped up from /usr/lib if it is small)
  B_COUNT=4 B_MIB=512
  C_FILES=99999
fi
mkdir -p "$WORK"

# Corpus A: a copy of /usr/share, with cp -a (owners, modes, times, links preserved).
A=$WORK/corpus-a
if [[ ! -f $WORK/corpus-a.done ]]; then
  rm -rf "$A"
  mkdir -p "$A"
  if ((A_FILES > 0)); then
    say "building corpus A: the first $A_FILES non-directories of /usr/share"
    # (the list goes through a file: head closing a pipe early would SIGPIPE sort under pipefail)
    find /usr/share -mindepth 1 ! -type d -print0 | LC_ALL=C sort -z > "$WORK/corpus-a.list"
    head -z -n "$A_FILES" "$WORK/corpus-a.list" | tar --null --no-recursion -cf - -T - | tar -xpf - -C "$A"
  else
    say "building corpus A: cp -a /usr/share"
    cp -a /usr/share "$A/"
    have=$(find "$A" -type f | wc -l)
    if ((have < 40000)); then
      want=$((50000 - have))
      say "/usr/share has only $have files here; adding $want from /usr/lib"
      find /usr/lib -mindepth 1 ! -type d -print0 | LC_ALL=C sort -z > "$WORK/corpus-a.list"
      head -z -n "$want" "$WORK/corpus-a.list" | tar --null --no-recursion -cf - -T - | tar -xpf - -C "$A"
    fi
  fi
  printf '%s files, %s bytes\n' "$(find "$A" -type f | wc -l)" "$(du -sb "$A" | cut -f1)" > "$WORK/corpus-a.done"
fi
say "corpus A: $A ($(cat "$WORK/corpus-a.done"))"

# Corpus B: VM-image-like files from a fixed seed (benchmarks/gen-vm-images.mjs).
B=$WORK/corpus-b
if [[ ! -f $WORK/corpus-b.done ]]; then
  say "building corpus B: $B_COUNT x $B_MIB MiB"
  rm -rf "$B"
  node benchmarks/gen-vm-images.mjs "$B" "$B_COUNT" "$B_MIB" > "$WORK/corpus-b.done"
fi
say "corpus B: $B ($(cat "$WORK/corpus-b.done"))"

# Corpus C: one directory of many small files (benchmarks/gen-big-dir.mjs).
C=$WORK/corpus-c
if [[ ! -f $WORK/corpus-c.done ]]; then
  say "building corpus C: $C_FILES small files in one directory"
  rm -rf "$C"
  node benchmarks/gen-big-dir.mjs "$C" "$C_FILES" > "$WORK/corpus-c.done"
fi
say "corpus C: $C ($(cat "$WORK/corpus-c.done"))"

# ---- the repositories over sshfs (BENCH_SAVEDIR=sshfs)
export BENCH_QUICK=${BENCH_QUICK:-0}
if [[ ${BENCH_SAVEDIR:-local} == sshfs ]]; then
  bash scripts/install-sysdeps.sh
  SSHFS_WORK=$WORK/sshfs-server
  SSHFS_REMOTE=$WORK/sshfs-remote
  SSHFS_MNT=$WORK/sshfs-mnt
  bash scripts/sshfs-teardown.sh "$SSHFS_WORK" "$SSHFS_MNT" >/dev/null 2>&1 || true
  rm -rf "$SSHFS_REMOTE"
  mkdir -p "$SSHFS_REMOTE"
  trap 'bash scripts/sshfs-teardown.sh "$SSHFS_WORK" "$SSHFS_MNT" >/dev/null 2>&1; rm -rf "$SSHFS_REMOTE"' EXIT
  bash scripts/sshfs-setup.sh "$SSHFS_WORK" "$SSHFS_REMOTE" "$SSHFS_MNT" >/dev/null
  say "repositories on sshfs: $SSHFS_MNT (served from $SSHFS_REMOTE by sshd on 127.0.0.1)"
  export BENCH_REPO_ROOT=$SSHFS_MNT BENCH_CORPORA=${BENCH_CORPORA:-A}
  node benchmarks/compare.mjs
  exit
elif [[ ${BENCH_SAVEDIR:-local} != local ]]; then
  say "BENCH_SAVEDIR must be local or sshfs, not $BENCH_SAVEDIR"
  exit 2
fi

# ---- measure
exec node benchmarks/compare.mjs
