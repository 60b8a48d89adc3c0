// The walk's record of the distinct chunks and their first few users.
import t from 'tap'
import { ChunkUsers, USERS_KEPT, userPairs } from '../../lib/check/chunk-users.js'

/** A whole chunk of 100 bytes. */
const W = { hash: Buffer.alloc(32), length: 100 }

t.test('first use is new; later uses are kept up to a cap, then marked overflowing', async t => {
  const c = new ChunkUsers()
  t.equal(c.add('h', W, 'T0', 'a'), true, 'new chunk')
  t.equal(c.add('h', W, 'T0', 'a'), false, 'known chunk')
  t.same(userPairs(c.get('h')?.users ?? []), [['T0', 'a']], 'a chunk repeated within one file is one user')
  for (let i = 1; i < USERS_KEPT; i++) c.add('h', W, `T${i}`, 'a')
  t.equal(c.get('h')?.users.length, USERS_KEPT * 2)
  t.equal(c.get('h')?.overflow, false, `${USERS_KEPT} users fit`)
  c.add('h', W, 'Tmore', 'a')
  t.equal(c.get('h')?.overflow, true, 'one more overflows')
  t.equal(c.get('h')?.users.length, USERS_KEPT * 2, 'and is not kept')
  c.setUsers('h', ['T9', 'z'])
  t.same(c.get('h'), { length: 100, atLeast: 0, users: ['T9', 'z'], overflow: false })
  t.equal(c.size, 1)
  t.same([...c.hashes()], ['h'])
  t.equal(c.has('nope'), false)
})

t.test('slices say how many bytes their object needs at least; the exact length comes from whole uses', async t => {
  const c = new ChunkUsers()
  t.equal(c.add('p', { hash: Buffer.alloc(32), length: 10, offset: 50 }, 'T0', 'a'), true)
  t.same({ length: c.get('p')?.length, atLeast: c.get('p')?.atLeast }, { length: undefined, atLeast: 60 }, 'only sliced: no exact length')
  c.add('p', { hash: Buffer.alloc(32), length: 5, offset: 20 }, 'T0', 'b')
  t.equal(c.get('p')?.atLeast, 60, 'a slice ending earlier changes nothing')
  c.add('p', { hash: Buffer.alloc(32), length: 40, offset: 70 }, 'T0', 'c')
  t.equal(c.get('p')?.atLeast, 110, 'the furthest end is kept')
  c.add('p', { hash: Buffer.alloc(32), length: 200 }, 'T1', 'd')
  t.equal(c.get('p')?.length, 200, 'a whole use gives the exact length')
})
