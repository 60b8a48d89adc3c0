// lstatMany (one native call for many names of a directory) against Node's own lstat, field by
// field, for every file type; a failure per name; an excluded-or-vanished directory.
import t from 'tap'
import fs from 'node:fs'
import path from 'node:path'
import { spawnSync } from 'node:child_process'
import { tmpDirFor } from '../helpers/fixture-tree.js'
import { fileStatOf, lstatMany, LstatFailure, type FileStat } from '../../lib/fs/file-stat.js'

t.test('lstatMany equals fs.lstatSync(bigint) for every type', async t => {
  const dir = tmpDirFor(t, 'tarshift-lstat-')
  fs.writeFileSync(path.join(dir, 'file'), 'x'.repeat(12345))
  fs.mkdirSync(path.join(dir, 'dir'))
  fs.symlinkSync('a/long/target', path.join(dir, 'link'))
  fs.linkSync(path.join(dir, 'file'), path.join(dir, 'hard'))
  spawnSync('mkfifo', [path.join(dir, 'fifo')])
  const names = ['dir', 'fifo', 'file', 'hard', 'link']
  if (process.getuid?.() === 0) {
    spawnSync('mknod', [path.join(dir, 'chr'), 'c', '1', '3'])
    spawnSync('mknod', [path.join(dir, 'blk'), 'b', '259', '70000'])
    names.push('blk', 'chr')
  }
  // Times before 1970 and after 2038, with nanoseconds (lutimes: the link's own times).
  spawnSync('touch', ['-a', '-d', '1969-07-20 20:17:40.123456789 UTC', path.join(dir, 'file')])
  spawnSync('touch', ['-m', '-d', '2040-01-02 03:04:05.678901234 UTC', path.join(dir, 'file')])
  const latin1 = Buffer.from([0x6e, 0xe9, 0xff]).toString('latin1')
  fs.writeFileSync(Buffer.concat([Buffer.from(dir + '/'), Buffer.from(latin1, 'latin1')]), 'non-UTF-8 name')
  names.push(latin1)
  const got = lstatMany(Buffer.from(dir), names)
  t.equal(got.length, names.length)
  names.forEach((n, i) => {
    const want = fileStatOf(fs.lstatSync(Buffer.concat([Buffer.from(dir + '/'), Buffer.from(n, 'latin1')]), { bigint: true }))
    t.same(got[i] as FileStat, want, `${JSON.stringify(n)}: the same fields as Node's lstat`)
  })
  t.equal((got[names.indexOf('file')] as FileStat).nlink, 2, 'the hardlink count')
  t.same((got[names.indexOf('file')] as FileStat).mtime, [2209086245, 678901234], 'mtime after 2038, nanoseconds')
  t.same((got[names.indexOf('file')] as FileStat).atime, [-14182940, 123456789], 'atime before 1970, nanoseconds')
})

t.test('failures are per name; a missing directory fails every name', async t => {
  const dir = tmpDirFor(t, 'tarshift-lstat-')
  fs.writeFileSync(path.join(dir, 'here'), '')
  const got = lstatMany(Buffer.from(dir), ['gone', 'here'])
  t.ok(got[0] instanceof LstatFailure && got[0].code === 'ENOENT', 'ENOENT for the missing name')
  t.notOk(got[1] instanceof LstatFailure, 'the other one is stat\'ed')
  const none = lstatMany(Buffer.from(path.join(dir, 'no-such-dir')), ['a', 'b'])
  t.ok(none.every(g => g instanceof LstatFailure && g.code === 'ENOENT'))
  t.same(lstatMany(Buffer.from(dir), []), [])
})

t.test('one window, several devices: each name gets its own st_dev', async t => {
  // Mount points under / sit on other file systems than / itself (proc, sysfs, devtmpfs...).
  const names = fs.readdirSync('/').filter(n => {
    try {
      return fs.lstatSync(path.join('/', n)).isDirectory()
    } catch {
      return false
    }
  })
  const got = lstatMany(Buffer.from('/'), names)
  const want = names.map(n => fs.lstatSync(path.join('/', n), { bigint: true }).dev.toString())
  t.ok(new Set(want).size > 1, `more than one device among ${names.join(' ')}`)
  t.same(got.map(g => (g as FileStat).dev), want)
  // And back to the first device after another one.
  const again = lstatMany(Buffer.from('/'), [...names, ...names])
  t.same(again.map(g => (g as FileStat).dev), [...want, ...want])
})
