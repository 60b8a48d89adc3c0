// lib/cache/crc32.ts: the same CRC-32 as zlib's, on the standard check value and random data.
import t from 'tap'
import { crc32 as zlibCrc32 } from 'node:zlib'
import { randomBytes } from 'node:crypto'
import { crc32 } from '../../lib/cache/crc32.js'

t.test("zlib's CRC-32", async t => {
  t.equal(crc32(Buffer.from('123456789')), 0xcbf43926, 'the check value of CRC-32/ISO-HDLC')
  t.equal(crc32(Buffer.alloc(0)), 0, 'of nothing: 0')
  for (const n of [1, 7, 40, 4096, 100_000]) {
    const b = randomBytes(n)
    t.equal(crc32(b), zlibCrc32(b), `${n} random bytes`)
  }
  t.equal(crc32(Buffer.alloc(40)), zlibCrc32(Buffer.alloc(40)), 'zeros (a record a crash left)')
})
