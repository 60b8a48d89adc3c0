// LongPaths.reach: a path past PATH_MAX becomes one the kernel takes, through directories
// opened on the way; siblings share those; at most 64 stay open; close() closes them all.
import t from 'tap'
import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { execFileSync } from 'node:child_process'
import { LongPaths, PATH_MAX_BYTES } from '../../lib/fs/long-paths.js'

const NAME = 'n'.repeat(199)

/** base/name/name/... `levels` deep, made one name at a time; returns the deepest path. */
function chain(base: string, levels: number, name = NAME): string {
  const back = process.cwd()
  process.chdir(base)
  try {
    for (let i = 0; i < levels; i++) {
      fs.mkdirSync(name)
      process.chdir(name)
    }
    fs.writeFileSync('a.txt', 'a\n')
    fs.writeFileSync('b.txt', 'b\n')
  } finally {
    process.chdir(back)
  }
  return path.join(base, ...Array<string>(levels).fill(name))
}

function openFds(): number {
  return fs.readdirSync('/proc/self/fd').length
}

t.test('reach', async t => {
  const base = fs.mkdtempSync(path.join(os.tmpdir(), 'tarshift-lp-'))
  t.teardown(() => execFileSync('rm', ['-rf', base]))
  const deep = chain(base, 40)
  const lp = new LongPaths()
  const short = Buffer.from(path.join(base, 'x'))
  t.equal(lp.reach(short), short, 'a short path is itself')
  t.equal(lp.open, 0, 'and opens nothing')

  const fds = openFds()
  const a = Buffer.from(`${deep}/a.txt`)
  t.ok(a.length > 8000, `a path of ${a.length} bytes`)
  t.throws(() => fs.readFileSync(a), { code: 'ENAMETOOLONG' }, 'too long for the kernel')
  const ra = lp.reach(a)
  t.ok(ra.length <= PATH_MAX_BYTES && ra.toString().startsWith('/proc/self/fd/'), `reached: ${ra.length} bytes`)
  t.equal(fs.readFileSync(ra, 'latin1'), 'a\n', 'reads the file')
  const anchors = lp.open
  t.ok(anchors >= 2 && anchors <= 4, `${anchors} directories opened for it`)
  t.equal(fs.readFileSync(lp.reach(Buffer.from(`${deep}/b.txt`)), 'latin1'), 'b\n', 'its sibling')
  t.equal(lp.open, anchors, 'through the same directories')
  t.same(fs.readdirSync(lp.reach(Buffer.from(deep))).sort(), ['a.txt', 'b.txt'], 'lists the deep directory')
  t.throws(() => lp.reach(Buffer.from(`${base}/gone/${deep.slice(base.length + 1)}/a.txt`)), { code: 'ENOENT' }, 'a directory missing on the way: ENOENT')
  lp.close()
  t.equal(lp.open, 0, 'close()')
  t.equal(openFds(), fds, 'leaves no descriptor open')
})

t.test('a path of 140 KB: more directories than are kept open, still reached', async t => {
  const base = fs.mkdtempSync(path.join(os.tmpdir(), 'tarshift-lp-'))
  t.teardown(() => execFileSync('rm', ['-rf', base]))
  const deep = chain(base, 700)
  const lp = new LongPaths()
  t.equal(fs.readFileSync(lp.reach(Buffer.from(`${deep}/a.txt`)), 'latin1'), 'a\n', 'reads the file')
  const during = lp.open
  t.ok(during > 64, `${during} open for it`)
  const shallow = chain(`${base}/${NAME}`, 25, 'm'.repeat(199)) // beside the deep chain
  t.equal(fs.readFileSync(lp.reach(Buffer.from(`${shallow}/b.txt`)), 'latin1'), 'b\n', 'another path')
  t.ok(lp.open <= 64 + 3, `the least recently used closed first (${lp.open} open)`)
  t.equal(fs.readFileSync(lp.reach(Buffer.from(`${deep}/b.txt`)), 'latin1'), 'b\n', 'the deep one again')
  lp.close()
})
