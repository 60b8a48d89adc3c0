// native.anyCached and native.dropCache: whether any page of a file is in the page cache, and
// dropping a range of them (the save's reader: lib/save/file-reader.ts, DROP_OVER).
import t from 'tap'
import fs from 'node:fs'
import path from 'node:path'
import { native } from '../../lib/fs/native.js'
import { diskTmpDir, evict, residentBytes } from '../helpers/page-cache.js'
import { seededBytes } from '../helpers/fixture-tree.js'

const MiB = 1024 * 1024

t.test('anyCached: false for a file with no page cached, true once one page is', async t => {
  const dir = diskTmpDir(t, 'tarshift-anycached-')
  const f = path.join(dir, 'data')
  fs.writeFileSync(f, seededBytes(6 * MiB, 1))
  evict(f)
  const fd = fs.openSync(f, 'r')
  t.teardown(() => fs.closeSync(fd))
  t.equal(residentBytes(f), 0, 'evicted')
  t.equal(native.anyCached(fd, 6 * MiB), false, 'none cached')
  fs.readSync(fd, Buffer.alloc(10), 0, 10, 5 * MiB + 1)
  t.equal(native.anyCached(fd, 6 * MiB), true, 'one read near the end: some cached')
  t.equal(native.dropCache(fd, 0, 6 * MiB), 0, 'dropCache: no error')
  t.equal(residentBytes(f), 0, 'and nothing is cached after it')
  t.equal(native.anyCached(fd, 6 * MiB), false, 'so anyCached is false again')
})

t.test('dropCache drops the range given, whole pages only', async t => {
  const dir = diskTmpDir(t, 'tarshift-anycached-')
  const f = path.join(dir, 'data')
  fs.writeFileSync(f, seededBytes(8 * MiB, 2))
  const fd = fs.openSync(f, 'r')
  t.teardown(() => fs.closeSync(fd))
  fs.fsyncSync(fd)
  fs.readFileSync(f)
  t.equal(residentBytes(f), 8 * MiB, 'all cached')
  native.dropCache(fd, 4 * MiB, 4 * MiB)
  t.equal(residentBytes(f), 4 * MiB, 'the second half dropped, the first kept')
})

t.test('what cannot be told is "cached" (the save then leaves the cache alone)', async t => {
  const dir = diskTmpDir(t, 'tarshift-anycached-')
  fs.mkdirSync(path.join(dir, 'd'))
  const fd = fs.openSync(path.join(dir, 'd'), 'r')
  t.teardown(() => fs.closeSync(fd))
  t.equal(native.anyCached(fd, 4096), true, 'a directory cannot be mapped')
  t.equal(native.anyCached(-1, 4096), true, 'a bad descriptor')
})
