#!/usr/bin/env bash
# Install the Debian packages tarshift needs, if any is missing. Idempotent.
#   install-sysdeps.sh build   what the native addon is built with (libzstd's header)
#   install-sysdeps.sh         that, and what the test suite uses
set -euo pipefail
need=()
[ -f /usr/include/zstd.h ] || need+=(libzstd-dev)
if [ "${1:-}" != build ]; then
command -v tar >/dev/null || need+=(tar)
tar --version 2>/dev/null | grep -q 'GNU tar' || need+=(tar)
command -v setfattr >/dev/null || need+=(attr)
command -v setfacl >/dev/null || need+=(acl)
command -v sshfs >/dev/null || need+=(sshfs)
command -v sshd >/dev/null || [ -x /usr/sbin/sshd ] || need+=(openssh-server)
command -v fincore >/dev/null || need+=(util-linux-extra)
command -v strace >/dev/null || need+=(strace)
command -v mkfs.ext4 >/dev/null || [ -x /sbin/mkfs.ext4 ] || need+=(e2fsprogs)
fi
if [ ${#need[@]} -gt 0 ]; then
  if [ "$(id -u)" != 0 ]; then echo "install-sysdeps: need root to install: ${need[*]}" >&2; exit 1; fi
  echo "install-sysdeps: installing ${need[*]}" >&2
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq >/dev/null
  apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
fi
