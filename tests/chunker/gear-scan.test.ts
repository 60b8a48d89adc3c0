import t from 'tap'
import { carriedHash, gearScan } from '../../lib/chunker/gear-scan.js'
import { gearTable } from '../../lib/chunker/gear-table.js'
import { testData } from './fixtures.js'

const gear = new Int32Array(gearTable(99).buffer)

/** The rule, byte by byte: returns [index past the cut byte or -1, final hash]. */
function reference(buf: Uint8Array, from: number, to: number, hash: number, mask: number): [number, number] {
  let h = hash
  for (let i = from; i < to; i++) {
    h = (h * 2 + (gear[buf[i] as number] as number)) | 0
    if ((h & mask) === 0) return [i + 1, h]
  }
  return [-1, h]
}

t.test('the word loop equals the byte rule at every alignment and length', async t => {
  const data = testData(1 << 16, 5)
  const masks = [-1 << 26, -1 << 25, -1 << 22, -1 << 28] // cuts every ~64, ~128, ~1K, ~16 bytes
  let checked = 0
  for (let base = 0; base < 9; base++) {
    const buf = data.subarray(base) // every byteOffset modulo 8
    for (const mask of masks) {
      for (const [from, len] of [[0, 5000], [1, 63], [3, 64], [5, 65], [7, 200], [13, 4093], [2, 20000]] as const) {
        for (const hash of [0, 0x12345678 | 0, -1]) {
          const want = reference(buf, from, from + len, hash, mask)
          const got = gearScan(buf, from, from + len, hash, mask, gear)
          if (got !== want[0] || (got < 0 && carriedHash() !== want[1])) {
            t.fail(`base ${base} mask ${mask} from ${from} len ${len} hash ${hash}: got ${got}, want ${want[0]}`)
          }
          checked++
        }
      }
    }
  }
  t.pass(`${checked} cases agree`)
})

t.test('scanning a range in pieces equals scanning it whole', async t => {
  const buf = testData(100000, 6)
  const mask = -1 << 18 // rare: ~1 in 16K
  const whole: number[] = []
  for (let at = 0; at < buf.length;) {
    const r = gearScan(buf, at, buf.length, 0, mask, gear)
    if (r < 0) break
    whole.push(r)
    at = r
  }
  t.ok(whole.length > 2, `${whole.length} cuts`)
  for (const piece of [1, 7, 64, 999, 30000]) {
    const cuts: number[] = []
    let h = 0
    for (let at = 0; at < buf.length;) {
      const to = Math.min(buf.length, at + piece)
      const r = gearScan(buf, at, to, h, mask, gear)
      if (r >= 0) {
        cuts.push(r)
        h = 0
        at = r
      } else {
        h = carriedHash()
        at = to
      }
    }
    t.same(cuts, whole, `pieces of ${piece}`)
  }
})
