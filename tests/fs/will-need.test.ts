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
  const end = Date.now() + ms
  while (!pred() && Date.now() < end) await new Promise(r => setTimeout(r, 10))
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
