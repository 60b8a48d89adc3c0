// Which of a file's pages are in the kernel's page cache (util-linux's fincore), and evicting
// them (dd iflag=nocache: POSIX_FADV_DONTNEED). Files must be on a disk file system: tmpfs
// pages cannot be evicted, so diskTmpDir() makes its directory under /var/tmp.
import { execFileSync } from 'node:child_process'
import fs from 'node:fs'

/** Bytes of `file` in the page cache. */
export function residentBytes(file: string): number {
  const out = execFileSync('fincore', ['--bytes', '--noheadings', '--output', 'RES', file]).toString().trim()
  return Number(out)
}

/** Write `file` out and drop its pages from the cache. */
export function evict(file: string): void {
  const fd = fs.openSync(file, 'r')
  try {
    fs.fsyncSync(fd)
  } finally {
    fs.closeSync(fd)
  }
  execFileSync('dd', [`if=${file}`, 'iflag=nocache', 'count=0', 'status=none'])
}

/** A directory on a disk file system, removed at the end of the test. */
export function diskTmpDir(t: { teardown(fn: () => void): unknown }, prefix: string): string {
  const dir = fs.mkdtempSync(`/var/tmp/${prefix}`)
  t.teardown(() => fs.rmSync(dir, { recursive: true, force: true }))
  return dir
}
