import t from 'tap'
import { randomBytes } from 'node:crypto'
import { codecs, codecByName } from '../../lib/codec/codec.js'
import { frameObject, unframeObject, sha256hex } from '../../lib/codec/object-frame.js'
import { decodeHeader, encodeHeader, ObjectKind, HEADER_SIZE } from '../../lib/codec/object-header.js'

const text = Buffer.from('tarshift '.repeat(20000))

t.test('every codec round-trips compressible, empty and random data', async t => {
  for (const codec of codecs) {
    for (const [label, data] of [['text', text], ['empty', Buffer.alloc(0)], ['random', randomBytes(100000)]] as const) {
      const framed = Buffer.concat(await frameObject(ObjectKind.Data, codec, data))
      const back = await unframeObject(framed, sha256hex(data))
      t.ok(back.data.equals(data), `${codec.name} ${label}`)
      t.equal(back.kind, ObjectKind.Data)
    }
  }
})

t.test('compressible data shrinks; incompressible data is stored with codec none', async t => {
  for (const name of ['zstd', 'xz']) {
    const codec = codecByName(name)
    const small = Buffer.concat(await frameObject(ObjectKind.Data, codec, text))
    t.ok(small.length < text.length / 10, `${name} compresses text`)
    t.equal(small[6], codec.id, `${name} codec id in header`)
    const rnd = randomBytes(65536)
    const raw = Buffer.concat(await frameObject(ObjectKind.Data, codec, rnd))
    t.equal(raw[6], 0, `${name}: random data stored raw`)
    t.equal(raw.length, HEADER_SIZE + rnd.length)
  }
})

t.test('header golden bytes', async t => {
  const h = encodeHeader({ kind: ObjectKind.Tree, codecId: 1, length: 0x0102030405 })
  t.equal(h.toString('hex'), '54534f42' + '01' + '01' + '01' + '00' + '0000000102030405')
  t.same(decodeHeader(h), { version: 1, kind: ObjectKind.Tree, codecId: 1, length: 0x0102030405 })
  t.equal(decodeHeader(Buffer.from('XXXX000000000000')), 'bad magic')
})

t.test('a flipped byte is detected by every codec', async t => {
  for (const codec of codecs) {
    const framed = Buffer.concat(await frameObject(ObjectKind.Data, codec, text))
    const hash = sha256hex(text)
    const bad = Buffer.from(framed)
    const at = HEADER_SIZE + Math.floor((bad.length - HEADER_SIZE) / 2)
    bad[at] = (bad[at] as number) ^ 0x40
    await t.rejects(unframeObject(bad, hash), `${codec.name}: flipped payload byte rejected`)
    const badLen = Buffer.from(framed)
    badLen[15] = (badLen[15] as number) ^ 1
    await t.rejects(unframeObject(badLen, hash), `${codec.name}: wrong length rejected`)
  }
})
