#!/usr/bin/env bash
# make demo: save a sample tree into a temporary savedir, list it, and restore it through
# `tar --diff` to show the backup matches the live tree.
set -euo pipefail
cd "$(dirname "$0")/.."
T="$PWD/bin/tarshift"
work=$(mktemp -d /tmp/tarshift-demo.XXXXXX)
trap 'rm -rf "$work"' EXIT
export XDG_CACHE_HOME="$work/cache"
src="$work/sample"
mkdir -p "$src/docs" "$src/bin" "$src/links"
cp -r lib "$src/docs/lib-sources"
head -c 5000000 /dev/urandom > "$src/bin/blob"
printf 'hello, tarshift\n' > "$src/docs/readme.txt"
ln "$src/docs/readme.txt" "$src/links/hardlink-to-readme"
ln -s ../docs/readme.txt "$src/links/symlink-to-readme"
mkfifo "$src/links/a-fifo"
echo "== tarshift init"
"$T" init -r "$work/savedir"
echo "== find | tarshift save (first, then unchanged)"
find "$src" -print0 | "$T" save -r "$work/savedir" --subset demo --null --files-from - --progress none
find "$src" -print0 | "$T" save -r "$work/savedir" --subset demo --null --files-from - --progress none
echo "== tarshift list"
"$T" list -r "$work/savedir"
echo "== tarshift ls -l latest $src/links"
"$T" ls -r "$work/savedir" latest "$src/links" -l
echo "== tarshift info"
"$T" info -r "$work/savedir"
echo "== tarshift restore latest | tar --diff -f - -C /"
"$T" restore -r "$work/savedir" latest "$src" | tar --diff -f - -C / && echo "tar --diff: no differences"
echo "== change a file; tar --diff notices"
echo "changed" >> "$src/docs/readme.txt"
"$T" restore -r "$work/savedir" latest "$src" | tar --diff -f - -C / || echo "tar --diff: found the change, as it should"
