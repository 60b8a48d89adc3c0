// lib/cache/object-times.ts: the local cache's log of object times. Kept across opens, the
// newest time of a name wins, a damaged or cut block loses what follows and never yields a
// wrong record, saves appending at once lose nothing, and a log of mostly superseded records
// is written anew.
import t from 'tap'
import fs from 'node:fs'
import path from 'node:path'
import { spawn } from 'node:child_process'
import { createHash } from 'node:crypto'
import { ObjectTimes, OBJECTS_FILE } from '../../lib/cache/object-times.js'
import { tmpDirFor } from '../helpers/fixture-tree.js'

const hex = (i: number): string => createHash('sha256').update(`object ${i}`).digest('hex')

t.test('times are kept across opens; the newest of a name wins', async t => {
  const dir = tmpDirFor(t, 'tarshift-times-')
  let log = ObjectTimes.open(dir)
  t.equal(log.touchedAt(hex(1)), undefined, 'an empty cache knows nothing')
  log.record(hex(1), 1000)
  log.record(hex(2), 2000)
  t.equal(log.touchedAt(hex(1)), 1000, 'known at once')
  log.close()
  log = ObjectTimes.open(dir)
  t.equal(log.touchedAt(hex(1)), 1000, 'and after a reopen')
  log.record(hex(1), 5000)
  log.record(hex(2), 1500) // older than what is known: ignored
  log.close()
  log = ObjectTimes.open(dir)
  t.equal(log.touchedAt(hex(1)), 5000, 'a newer time replaces the older')
  t.equal(log.touchedAt(hex(2)), 2000, 'an older one does not')
  t.equal(log.touchedAt(hex(3)), undefined)
  log.close()
})

t.test('a cut or damaged block: the blocks before it are read, nothing of it or after it', async t => {
  const dir = tmpDirFor(t, 'tarshift-times-')
  const file = path.join(dir, OBJECTS_FILE)
  let log = ObjectTimes.open(dir)
  log.record(hex(1), 1000)
  log.close()
  const good = fs.statSync(file).size
  log = ObjectTimes.open(dir)
  log.record(hex(2), 2000)
  log.close()
  const whole = fs.readFileSync(file)
  fs.writeFileSync(file, whole.subarray(0, whole.length - 7)) // the second block cut short
  log = ObjectTimes.open(dir)
  t.equal(log.touchedAt(hex(1)), 1000, 'the whole block is read')
  t.equal(log.touchedAt(hex(2)), undefined, 'the cut one is not')
  const flipped = Buffer.from(whole)
  flipped[good + 12 + 33] = (flipped[good + 12 + 33] as number) ^ 0x40 // a bit of hex(2)'s time
  fs.writeFileSync(file, flipped)
  log = ObjectTimes.open(dir)
  t.equal(log.touchedAt(hex(2)), undefined, 'a block failing its CRC is not read')
  t.equal(log.touchedAt(hex(1)), 1000)
  fs.writeFileSync(file, Buffer.alloc(4096)) // zeros, as a crash can leave
  t.equal(ObjectTimes.open(dir).touchedAt(hex(1)), undefined, 'zeros are no records')
})

t.test('two processes appending at once lose no record', async t => {
  const dir = tmpDirFor(t, 'tarshift-times-')
  const mod = new URL('../../lib/cache/object-times.js', import.meta.url).href
  const writer = (from: number): Promise<number | null> => new Promise(resolve => {
    const code = `const { ObjectTimes } = await import(${JSON.stringify(mod)}); const { createHash } = await import('node:crypto')
      const log = ObjectTimes.open(${JSON.stringify(dir)})
      for (let i = ${from}; i < ${from} + 40000; i++) { log.record(createHash('sha256').update('object ' + i).digest('hex'), i); if (i % 5000 === 0) log.flush() }
      log.flush()`
    spawn(process.execPath, ['--input-type=module', '-e', code], { stdio: 'inherit' }).on('exit', resolve)
  })
  t.same(await Promise.all([writer(0), writer(40000)]), [0, 0], 'both writers succeed')
  const log = ObjectTimes.open(dir)
  let missing = 0
  for (let i = 0; i < 80000; i++) if (log.touchedAt(hex(i)) !== i) missing++
  t.equal(missing, 0, 'all 80,000 records are there with their times')
})

t.test('a log of mostly superseded records is written anew, one record a name', async t => {
  const dir = tmpDirFor(t, 'tarshift-times-')
  const file = path.join(dir, OBJECTS_FILE)
  for (let round = 0; round < 3; round++) {
    const log = ObjectTimes.open(dir)
    for (let i = 0; i < 20000; i++) log.record(hex(i), 100000 * round + i)
    log.close()
  }
  t.equal(fs.statSync(file).size, 20000 * 40 + 2 * 12, 'after three rounds of 20,000 names: two blocks (16,384 records at most), one record a name')
  const log = ObjectTimes.open(dir)
  let wrong = 0
  for (let i = 0; i < 20000; i++) if (log.touchedAt(hex(i)) !== 200000 + i) wrong++
  t.equal(wrong, 0, 'all with their newest times')
  t.same(fs.readdirSync(dir), [OBJECTS_FILE], 'no temporary left')
})
