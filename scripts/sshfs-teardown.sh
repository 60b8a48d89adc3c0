#!/usr/bin/env bash
# Undo scripts/sshfs-setup.sh: unmount the sshfs mount, stop the sshd it started (by the pid in
# WORKDIR/sshd.pid, nothing else). Safe after a partial setup and when run twice.
#
#   scripts/sshfs-teardown.sh WORKDIR MOUNTPOINT
set -uo pipefail

if [ $# -ne 2 ]; then echo "usage: $0 WORKDIR MOUNTPOINT" >&2; exit 2; fi
work=$1
mnt=$2
status=0

if mountpoint -q "$mnt" 2>/dev/null; then
  fusermount3 -u "$mnt" 2>/dev/null || fusermount -u "$mnt" 2>/dev/null || umount "$mnt" 2>/dev/null || umount -l "$mnt" || status=1
fi

if [ -s "$work/sshd.pid" ]; then
  pid=$(cat "$work/sshd.pid")
  # Only the sshd started with our config: check its command line before signalling it.
  if [ -r "/proc/$pid/cmdline" ] && tr '\0' ' ' <"/proc/$pid/cmdline" | grep -q -- "$work/sshd_config"; then
    kill "$pid" 2>/dev/null || true
    for _ in $(seq 1 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
  fi
  rm -f "$work/sshd.pid"
fi
exit $status
