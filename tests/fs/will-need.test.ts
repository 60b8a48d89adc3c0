// native.willNeed: the kernel reads the whole file into its page cache without this thread
// reading it (the call returns before the reads finish), never through a symlink; errors come
// back as errno numbers, not exceptions.
import t from 'tap'
import fs from 'node:fs'
import path from 'node:path'
import { constants } from 'node:os'
import { native } from '../../lib/fs/native.js'
import { diskTmpDir, evict, residentBytes } from '../helpers/page-cache.js'

async function until(pred: () => boolean, ms = 10_000): Promise<boolean> {
  const end = performance.now() + ms // monotonic: a fresh machine's clock may be stepped meanwhile
  while (!pred() && performance.now() < end) await new Promise(r => setTimeout(r, 10))
  return pred()
}

t.test('the file comes into the page cache; atime unchanged', async t => {
  const dir = diskTmpDir(t, 'tarshift-willneed-')
  const f = path.join(dir, 'data')
  fs.writeFileSync(f, Buffer.alloc(3 * 1024 * 1024 + 123, 7))
  evict(f)
  t.equal(residentBytes(f), 0, 'evicted first')
  // (fincore itself changes the atime: set it after, and look at it before fincore runs again)
  const old = new Date('2001-02-03T04:05:06Z')
  fs.utimesSync(f, old, old)
  t.equal(native.willNeed(Buffer.from(f)), 0, 'no error')
  await new Promise(r => setTimeout(r, 300))
  t.equal(fs.statSync(f).atimeMs, old.getTime(), 'atime unchanged')
  t.ok(await until(() => residentBytes(f) >= 3 * 1024 * 1024), `all of it is cached (${residentBytes(f)} bytes)`)
})

t.test('errors are errno numbers; symlinks are not followed', async t => {
  const dir = diskTmpDir(t, 'tarshift-willneed-')
  fs.writeFileSync(path.join(dir, 'target'), 'x')
  fs.symlinkSync('target', path.join(dir, 'link'))
  t.equal(native.willNeed(Buffer.from(path.join(dir, 'missing'))), constants.errno.ENOENT)
  t.equal(native.willNeed(Buffer.from(path.join(dir, 'link'))), constants.errno.ELOOP)
})

t.test('prefetch: the native threads bring many files into the page cache; the call returns at once', async t => {
  const dir = diskTmpDir(t, 'tarshift-prefetch-')
  const files = Array.from({ length: 24 }, (_, i) => path.join(dir, `f${i}`))
  for (const f of files) fs.writeFileSync(f, Buffer.alloc(256 * 1024 + 7, 3))
  fs.writeFileSync(path.join(dir, 'target'), Buffer.alloc(256 * 1024, 1))
  fs.symlinkSync('target', path.join(dir, 'link'))
  for (const f of [...files, path.join(dir, 'target')]) evict(f)
  t.equal(files.reduce((n, f) => n + residentBytes(f), 0), 0, 'evicted first')
  const paths = [...files, path.join(dir, 'missing'), path.join(dir, 'link')].map(f => Buffer.from(f))
  t.equal(native.prefetch(paths), paths.length, 'every path queued (a missing one too)')
  // Each file seen whole in the page cache once: this machine's proactive reclaim (DAMON
  // pageout) may take a file out again before the last one is in.
  const seen = new Set<string>()
  t.ok(await until(() => {
    for (const f of files) if (residentBytes(f) >= 256 * 1024) seen.add(f)
    return seen.size === files.length
  }), 'every file is cached')
  await new Promise(r => setTimeout(r, 200))
  t.equal(residentBytes(path.join(dir, 'target')), 0, 'a symlink is not followed')
})

t.test('prefetch: bad arguments are TypeErrors', async t => {
  t.equal(native.prefetch([]), 0)
  t.throws(() => native.prefetch(['a string' as unknown as Buffer]), TypeError)
  t.throws(() => native.prefetch('/x' as unknown as Buffer[]), TypeError)
  t.throws(() => (native.prefetch as unknown as () => number)(), TypeError)
})
