// writeFileAtomic: the target appears whole or not at all; temporaries have the documented name
// (.<name>.<host>.<pid>.<8 hex>.tmp), are never reused within a thread, and a name taken by
// another writer is skipped, not failed on.
import t from 'tap'
import { readdirSync, readFileSync, writeFileSync, statSync } from 'node:fs'
import { join } from 'node:path'
import { isTempName, tempNameFor, writeFileAtomic } from '../../lib/repo/atomic-write.js'

t.test('the target is written from its parts; no temporary is left; the mode is kept', async t => {
  const dir = t.testdir()
  const target = join(dir, 'obj.data')
  writeFileAtomic(target, [Buffer.from('ab'), Buffer.from('cd')], { mode: 0o640 })
  t.equal(readFileSync(target, 'latin1'), 'abcd')
  t.equal(statSync(target).mode & 0o777, 0o640)
  t.same(readdirSync(dir), ['obj.data'])
})

t.test('temporary names: the documented form, a different one each time', async t => {
  const target = '/x/chunks/ab/abcdef.data'
  const names = Array.from({ length: 1000 }, () => tempNameFor(target))
  for (const n of names.slice(0, 3)) {
    t.match(n, new RegExp(`^/x/chunks/ab/\\.abcdef\\.data\\.[A-Za-z0-9_-]+\\.${process.pid}\\.[0-9a-f]{8}\\.tmp$`))
    t.ok(isTempName(n.slice('/x/chunks/ab/'.length)))
  }
  t.equal(new Set(names).size, names.length, 'no name twice')
})

t.test('a temporary name already taken (another writer) is skipped', async t => {
  const dir = t.testdir()
  const target = join(dir, 'obj.data')
  // Take the next few names this thread would draw: the write must go on past them.
  const probe = tempNameFor(target)
  const seq = parseInt(probe.slice(-12, -4), 16)
  const prefix = probe.slice(0, -12)
  for (let k = 1; k <= 3; k++) writeFileSync(`${prefix}${((seq + k) >>> 0).toString(16).padStart(8, '0')}.tmp`, 'other writer')
  writeFileAtomic(target, [Buffer.from('mine')])
  t.equal(readFileSync(target, 'latin1'), 'mine')
  const temps = readdirSync(dir).filter(isTempName)
  t.equal(temps.length, 3, 'the other writer\'s temporaries are untouched')
  for (const n of temps) t.equal(readFileSync(join(dir, n), 'latin1'), 'other writer')
})

t.test('a failed write leaves neither target nor temporary', async t => {
  const dir = t.testdir()
  const target = join(dir, 'missing-dir', 'obj.data')
  t.throws(() => writeFileAtomic(target, [Buffer.from('x')]), { code: 'ENOENT' })
  t.same(readdirSync(dir), [])
})
