// The walk's record of the distinct chunks and their first few users.
import t from 'tap'
import { ChunkUsers, USERS_KEPT, userPairs } from '../../lib/check/chunk-users.js'

t.test('first use is new; later uses are kept up to a cap, then marked overflowing', async t => {
  const c = new ChunkUsers()
  t.equal(c.add('h', 100, 'T0', 'a'), true, 'new chunk')
  t.equal(c.add('h', 100, 'T0', 'a'), false, 'known chunk')
  t.same(userPairs(c.get('h')?.users ?? []), [['T0', 'a']], 'a chunk repeated within one file is one user')
  for (let i = 1; i < USERS_KEPT; i++) c.add('h', 100, `T${i}`, 'a')
  t.equal(c.get('h')?.users.length, USERS_KEPT * 2)
  t.equal(c.get('h')?.overflow, false, `${USERS_KEPT} users fit`)
  c.add('h', 100, 'Tmore', 'a')
  t.equal(c.get('h')?.overflow, true, 'one more overflows')
  t.equal(c.get('h')?.users.length, USERS_KEPT * 2, 'and is not kept')
  c.setUsers('h', ['T9', 'z'])
  t.same(c.get('h'), { length: 100, users: ['T9', 'z'], overflow: false })
  t.equal(c.size, 1)
  t.same([...c.hashes()], ['h'])
  t.equal(c.has('nope'), false)
})
