// A file's bytes from one of its pieces (lib/tree/piece.ts): whole chunks exactly as long as
// the tree says, slices within their object; anything else is a reason, never bytes.
import t from 'tap'
import { pieceBytes } from '../../lib/tree/piece.js'

const hash = Buffer.alloc(32)
const data = Buffer.from('0123456789')

t.test('a whole chunk is the object itself, of exactly its length', async t => {
  t.equal(pieceBytes(data, { hash, length: 10 }), data)
  t.match(pieceBytes(data, { hash, length: 9 }), /length 10, tree says 9/)
  t.match(pieceBytes(data, { hash, length: 11 }), /length 10, tree says 11/)
})

t.test('a slice is a range of the object', async t => {
  t.equal((pieceBytes(data, { hash, length: 3, offset: 2 }) as Buffer).toString(), '234')
  t.equal((pieceBytes(data, { hash, length: 0, offset: 10 }) as Buffer).length, 0, 'empty at the very end')
  t.equal((pieceBytes(data, { hash, length: 10, offset: 0 }) as Buffer).toString(), '0123456789', 'the whole object')
})

t.test('a slice past the object, or a length or offset that is no count of bytes: a reason', async t => {
  t.match(pieceBytes(data, { hash, length: 3, offset: 8 }), /slice needs 11/)
  t.match(pieceBytes(data, { hash, length: 1, offset: -1 }), /slice offset of -1/, 'no negative offset (subarray would count from the end)')
  t.match(pieceBytes(data, { hash, length: 1, offset: 1.5 }), /slice offset of 1.5/)
  t.match(pieceBytes(data, { hash, length: -2, offset: 1 }), /length of -2/)
  t.match(pieceBytes(data, { hash, length: 2 ** 60, offset: 0 }), /length of/)
})
