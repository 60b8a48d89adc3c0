// lib/cache/name-index.ts: names found after any number of additions (growth, collisions of
// the first bytes), never a name that was not added.
import t from 'tap'
import { createHash } from 'node:crypto'
import { NameIndex } from '../../lib/cache/name-index.js'

const name = (i: number): Buffer => createHash('sha256').update(String(i)).digest()

t.test('every name added is found with its numbers, through growth', async t => {
  const index = new NameIndex()
  const n = 5000
  for (let i = 0; i < n; i++) index.set(name(i), 0, i, i * 2)
  t.equal(index.size, n)
  let wrong = 0
  for (let i = 0; i < n; i++) {
    const e = index.find(name(i).toString('hex'))
    if (e < 0 || index.first(e) !== i || index.second(e) !== i * 2) wrong++
  }
  t.equal(wrong, 0, 'all found with their numbers')
  t.equal(index.find(name(n).toString('hex')), -1, 'a name never added is not found')
  t.equal(index.find('zz'.repeat(32)), -1, 'nor is a string that is not hex')
  t.equal(index.find('ab'), -1, 'nor a short one')
})

t.test('names sharing their first four bytes are told apart; set replaces the numbers', async t => {
  const index = new NameIndex()
  const a = Buffer.alloc(32, 1)
  const b = Buffer.alloc(32, 1)
  b[31] = 2
  const framed = Buffer.concat([Buffer.from('xx'), b])
  index.set(a, 0, 10)
  index.set(framed, 2, 20)
  t.equal(index.first(index.find(a.toString('hex'))), 10)
  t.equal(index.first(index.find(b.toString('hex'))), 20, 'a name read at an offset of its buffer')
  index.set(a, 0, 11)
  t.equal(index.size, 2, 'setting a known name adds no entry')
  t.equal(index.first(index.find(a.toString('hex'))), 11)
  t.same([...index.entries()].map(([n, x]) => [n.toString('hex'), x]), [[a.toString('hex'), 11], [b.toString('hex'), 20]])
})
