#!/usr/bin/env bash
# Serve a local directory over SFTP and mount it with sshfs, for the sshfs integration test
# (tests/integration/sshfs.test.ts). Needs root, openssh-server, sshfs and /dev/fuse
# (scripts/install-sysdeps.sh installs the packages).
#
#   scripts/sshfs-setup.sh WORKDIR REMOTE_DIR MOUNTPOINT
#
# Generates a host key and a client key for root in WORKDIR, starts sshd on 127.0.0.1 on the
# first free port from 2222 (its own config, pid file and log in WORKDIR), mounts
# root@127.0.0.1:REMOTE_DIR at MOUNTPOINT, and prints PORT=... and SSHD_PID=... on stdout.
# Undo with scripts/sshfs-teardown.sh WORKDIR MOUNTPOINT (also after a partial setup).
set -euo pipefail

if [ $# -ne 3 ]; then echo "usage: $0 WORKDIR REMOTE_DIR MOUNTPOINT" >&2; exit 2; fi
work=$(realpath "$1")
remote=$(realpath "$2")
mnt=$(realpath "$3")

fail() { echo "sshfs-setup: $*" >&2; exit 1; }

[ "$(id -u)" = 0 ] || fail "must run as root (sshd with its own config, mounting FUSE)"
if [ ! -c /dev/fuse ]; then
  mknod -m 0666 /dev/fuse c 10 229 2>/dev/null || fail "/dev/fuse is missing and cannot be created (mknod /dev/fuse c 10 229 failed): this machine cannot mount FUSE file systems"
fi
sshd=$(command -v sshd || true)
[ -n "$sshd" ] || { [ -x /usr/sbin/sshd ] && sshd=/usr/sbin/sshd; } || true
[ -n "$sshd" ] && [ -x "$sshd" ] || fail "sshd not found: install openssh-server (scripts/install-sysdeps.sh)"
command -v sshfs >/dev/null || fail "sshfs not found: install sshfs (scripts/install-sysdeps.sh)"
command -v ssh-keygen >/dev/null || fail "ssh-keygen not found: install openssh-client"

mkdir -p "$work" "$mnt"
# sshd's privilege separation directory (made by the init system on a normal boot).
mkdir -p /run/sshd
chmod 0755 /run/sshd

rm -f "$work/host_key" "$work/host_key.pub" "$work/client_key" "$work/client_key.pub"
ssh-keygen -q -t ed25519 -N '' -C tarshift-test-host -f "$work/host_key"
ssh-keygen -q -t ed25519 -N '' -C tarshift-test-client -f "$work/client_key"
cp "$work/client_key.pub" "$work/authorized_keys"
chmod 0600 "$work/host_key" "$work/client_key" "$work/authorized_keys"

sftp_server=internal-sftp
started=
for port in $(seq 2222 2299); do
  # A port somebody listens on: skip it (sshd would fail to bind anyway, but say nothing then).
  if (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then continue; fi
  cat >"$work/sshd_config" <<EOF
Port $port
ListenAddress 127.0.0.1
HostKey $work/host_key
PidFile $work/sshd.pid
AuthorizedKeysFile $work/authorized_keys
PermitRootLogin prohibit-password
PubkeyAuthentication yes
PasswordAuthentication no
KbdInteractiveAuthentication no
UsePAM no
StrictModes no
X11Forwarding no
AllowTcpForwarding no
PrintMotd no
Subsystem sftp $sftp_server
LogLevel ERROR
EOF
  rm -f "$work/sshd.pid"
  # sshd binds, then detaches; it exits non-zero when it cannot bind.
  if "$sshd" -f "$work/sshd_config" -E "$work/sshd.log"; then
    for _ in $(seq 1 100); do
      [ -s "$work/sshd.pid" ] && (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null && { started=$port; break; }
      sleep 0.1
    done
    [ -n "$started" ] && break
    [ -s "$work/sshd.pid" ] && kill "$(cat "$work/sshd.pid")" 2>/dev/null || true
  fi
done
[ -n "$started" ] || fail "could not start sshd on 127.0.0.1 (ports 2222-2299); log: $(tail -n 5 "$work/sshd.log" 2>/dev/null)"

if ! sshfs -o "IdentityFile=$work/client_key,StrictHostKeyChecking=no,UserKnownHostsFile=/dev/null,port=$started,BatchMode=yes,LogLevel=ERROR" \
    "root@127.0.0.1:$remote" "$mnt" 2>"$work/sshfs.err"; then
  fail "sshfs mount failed: $(cat "$work/sshfs.err"); sshd log: $(tail -n 5 "$work/sshd.log" 2>/dev/null)"
fi
mountpoint -q "$mnt" || fail "sshfs returned but $mnt is not a mount point"

echo "PORT=$started"
echo "SSHD_PID=$(cat "$work/sshd.pid")"
