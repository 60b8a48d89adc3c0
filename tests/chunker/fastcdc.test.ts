import t from 'tap'
import { chunkBuffer, DEFAULT_CHUNKER, FastCdc, validateParams, type ChunkerParams } from '../../lib/chunker/fastcdc.js'
import { gearTable } from '../../lib/chunker/gear-table.js'
import { chunkHashes, KiB, MiB, sha256hex, testData } from './fixtures.js'

const SMALL: ChunkerParams = { min: 2 * KiB, avg: 8 * KiB, max: 32 * KiB, seed: DEFAULT_CHUNKER.seed }
/** The defaults of savedirs made before 2026-11-25 (DESIGN.md §2), still read and written. */
const CHUNKER_2M: ChunkerParams = { min: 512 * KiB, avg: 2 * MiB, max: 8 * MiB, seed: DEFAULT_CHUNKER.seed }

const big = testData(64 * MiB, 1)

const sum = (xs: readonly number[]) => xs.reduce((a, b) => a + b, 0)

/** The cut rule of fastcdc.ts written as plainly as possible, to check the fast one against. */
function referenceChunks(buf: Uint8Array, p: ChunkerParams): number[] {
  const gear = gearTable(p.seed)
  const bits = Math.log2(p.avg)
  const top = (n: number) => (2 ** n - 1) * 2 ** (32 - n)
  const maskS = top(bits + 2)
  const maskL = top(bits - 2)
  const out: number[] = []
  for (let s = 0; s < buf.length;) {
    const n = buf.length - s
    let len = Math.min(n, p.max)
    if (n > p.min) {
      let h = 0
      for (let k = p.min; k < Math.min(n, p.max); k++) {
        h = (h * 2 + (gear[buf[s + k] as number] as number)) % 2 ** 32
        if ((h & (k < p.avg ? maskS : maskL)) === 0) {
          len = k + 1
          break
        }
      }
    }
    out.push(len)
    s += len
  }
  return out
}

// GOLDEN VALUES. Cut points are part of the on-disk format (DESIGN.md §2): these values must
// never drift. If this test fails, the chunker changed and every existing savedir would stop
// deduplicating against new saves: that is a format change, to be made deliberately (new
// parameters or format version in tarshift.json), never by updating these numbers. They were
// computed once with this implementation and reproduced by an independent Python one.
t.test('golden cut points: 2 MiB parameters (the defaults before 2026-11-25) over 64 MiB', async t => {
  t.equal(sha256hex(big), '0f18b9f0015800459c27dc089b93ca7603f05f6482bd88b6d48da793cf5368b6', 'test data')
  const lengths = chunkBuffer(big, CHUNKER_2M)
  t.same(lengths, [
    2521106, 1178177, 2610245, 2827028, 3742484, 1512716, 2314090, 2729104, 3961344, 2137488,
    2723510, 2163509, 2457298, 3291801, 2158716, 641560, 2102926, 2389880, 2837194, 2164089,
    2133069, 2152367, 2691133, 2241355, 1731000, 2246099, 2939010, 2315567, 194999,
  ])
  t.same(chunkHashes(big, lengths), [
    '6a0a889fa92ce2269ff79f9b9467e5e90549667061f4db98df799cce5560d0ef',
    'f4c244418026abfa02ec2908c049d9b04e4191063ab95fd2307f6532a9116f66',
    '4f74b7321886630342ec8e6049db81dabd5a67ec0d1163b62d48471e548c35e6',
    '6e8f08d79cd72c8d0d2f967215e4d6094e7a2c6799edcbe8e1763d9c8c5f8c3d',
    '9831efccea8ef9be809f4690ad5a4c48350c046c7d2e07f8e916838ba4b2711d',
    '2e85d52647d71b61ef4bbc2055470754186a95fb2b70cffabc4dfbe5d78ea942',
    '0b560b924f0cd6f660c9c461a683186833a3be3681a1d19cb538cd56ed06d5b3',
    '38ba5d3a827670a2df306654d4722dc8f56248ca7811adc082dd923ecb4792ad',
    '51bba6f29ac4f17c64180b9c8b32504ce0c7efdc7d1b50cf4c149731651c37ac',
    '4beaf5b9a840e2ab6f965902c0f82b296c5a6998a8187dcea567d27bf2bde4ca',
    '9766373cb70bd2c6b2ff7e49d28ffd2a52a61e0ff0c0d856d829f55d5f4548a6',
    'c6b3653c50d809a26fce57e265c63375ac60fe1e61dafc1ae94fd5fb1241e903',
    '8f0d6fdb07d831982b81897a829973f85c36390ffc8618788b5b9ea88d7e003c',
    '44f46055a7efba01159cc2fdccf481094465c49ce703e36274694b290ab26413',
    '1c4b3bb280ff2a4a53ba8217cbe764ad0fa1799ae6ff92623f2b7a221f9a4eb1',
    '5a6fb98dda99c2d9ad3c396d8c8ef8ef78316770ba8c7be041b92c4bfceb826c',
    '35c715936ca70dfc6f51d4416228158e3fc32d51b672c33a1555480a319602b8',
    '52095e7e4ebdc118c52dbe4b25b1d53443560665f111e2434300dd430adbb92a',
    '0b720be536ae9e5a89e65aeda067d58936c0d54207ea26b1f15b13a169697f60',
    'a7f1a210df9ee7a31f16532c6415c64743e2c32be3932b3b6a66bbadbec03d66',
    'e20de282193e8e58f85823162d332fef5ef000fa61f3621ba1e73e35cb056a1d',
    '4dcba91455fe7da23f50c21fe2a8c56c0a3d564d38dc203fca9ad738a276fd04',
    '74af4973fb8fc62d0572dd38494c9aef568b246c099485ecb384212acae08cab',
    'd93d09c51f1c96810947d1d7dff5ba6981165d2bba1c393f6bb085dfa6c56ca5',
    '5a413df95f4437957528f886c70e321171bcc7c2b36b48e6e7f273394566e589',
    'fda334cb5a571837489508363d054f950d489cd92e4ff7b9d48b0aaca846d291',
    'dbc7b982f1b735cf34719e6b012ee3e98c6ab37769910734cd639c5b2bf2bdee',
    '5a96fee29d1747b88a0a0c27a136787a63cd752b0921a1c2de8c888eaefb343d',
    '105a34e0b2df7f5a8876b0fd24d4af4e6c161202a5b54e227b12a65f78e2f749',
  ])
})

t.test('golden cut points: default parameters (128 KiB / 512 KiB / 2 MiB) over 64 MiB', async t => {
  t.same(DEFAULT_CHUNKER, { min: 128 * KiB, avg: 512 * KiB, max: 2 * MiB, seed: 0x74617273 }, 'the defaults')
  const lengths = chunkBuffer(big, DEFAULT_CHUNKER)
  t.same(lengths, [
    668820, 570978, 627090, 654218, 1178177, 615940, 692496, 571002, 730807, 736355, 672721,
    170811, 557196, 625093, 524333, 567305, 620479, 736651, 543842, 672059, 563313, 328121, 603203,
    160746, 846322, 608460, 561825, 297483, 139762, 717277, 573826, 621746, 555962, 583674, 253884,
    704340, 648209, 564678, 977446, 810877, 548783, 569386, 558086, 147892, 640616, 540673, 584929,
    710286, 204331, 552235, 598898, 566477, 535372, 692472, 719364, 850772, 254110, 780187, 707149,
    529464, 550432, 567770, 528862, 575031, 526624, 524376, 548072, 585398, 560539, 812424, 565092,
    268527, 228918, 893847, 558936, 529134, 521282, 684957, 607655, 576494, 547724, 291132, 326294,
    621999, 942248, 238444, 650379, 615735, 679830, 621799, 549423, 669758, 532773, 717060, 650460,
    422397, 551173, 666720, 533657, 567696, 725300, 927809, 941403, 675343, 629353, 594747, 804701,
    539481, 646265, 353816, 634143, 656740, 625895, 398789, 194999,
  ])
  // One digest over the chunk hashes, one per line.
  t.equal(sha256hex(Buffer.from(chunkHashes(big, lengths).join('\n'))),
    '4a073e38b9ccb6c44d56c4b06da797247c8ed3904d795bbe5319fd1cf71da2ad')
})

t.test('golden cut points: min 2 KiB, avg 8 KiB, max 32 KiB over 1 MiB', async t => {
  const data = testData(1 * MiB, 2)
  const lengths = chunkBuffer(data, SMALL)
  t.same(lengths, [
    8776, 8969, 8876, 10665, 9712, 13299, 9587, 17797, 6530, 14183, 3394, 8416, 14281, 4520, 10460,
    11961, 9694, 8757, 9614, 11858, 8679, 9927, 8518, 8835, 9101, 9215, 10311, 8477, 10626, 10239,
    11776, 15846, 3459, 7411, 8456, 9634, 4383, 7393, 9701, 11073, 5698, 10539, 5655, 13383, 8509,
    12076, 8940, 7229, 10492, 9278, 8696, 2595, 10661, 3738, 6728, 8690, 8256, 7645, 8361, 5090,
    19645, 12291, 11074, 3595, 11598, 10103, 12978, 9276, 10697, 4516, 2826, 15672, 9922, 8458, 6138,
    8813, 4799, 12070, 11017, 4119, 8852, 7029, 9317, 9127, 8224, 8023, 9092, 8418, 8614, 8668, 9221,
    6744, 9827, 12064, 9218, 11830, 16492, 10320, 3371, 8855, 2295, 8543, 8893, 4020, 12631, 5909,
    8797, 8219, 11226, 3804, 7893, 10571, 8894, 5469, 11822, 7066, 2943,
  ])
  // One digest over the chunk hashes, one per line.
  t.equal(sha256hex(Buffer.from(chunkHashes(data, lengths).join('\n'))),
    '09fb70a04fad4a154958eeb1666a2bdb95b171a9f56e04672113991316bcc6ed')
})

t.test('equals the plain reference rule, at every buffer alignment', async t => {
  const data = testData(2 * MiB + 16, 3)
  for (let offset = 0; offset < 9; offset++) {
    const buf = data.subarray(offset, offset + 2 * MiB)
    t.same(chunkBuffer(buf, SMALL), referenceChunks(buf, SMALL), `SMALL, byteOffset +${offset}`)
  }
  const odd: ChunkerParams = { min: 64, avg: 256, max: 1000, seed: 1 }
  t.same(chunkBuffer(data, odd), referenceChunks(data, odd), 'tiny parameters, max not a power of two')
  const buf = big.subarray(5, 5 + 12 * MiB)
  t.same(chunkBuffer(buf, DEFAULT_CHUNKER), referenceChunks(buf, DEFAULT_CHUNKER), 'defaults over 12 MiB')
})

/** What is wrong with a chunking of `total` bytes: every chunk in (min, max], the last in [1, max]. */
function boundsProblem(lengths: readonly number[], total: number, p: ChunkerParams): string | null {
  if (sum(lengths) !== total) return `lengths sum to ${sum(lengths)}, not ${total}`
  const bad = lengths.findIndex((n, i) => n > p.max || n < 1 || (i < lengths.length - 1 && n <= p.min))
  return bad < 0 ? null : `chunk ${bad} has length ${lengths[bad]}`
}

t.test('chunk sizes stay in bounds and average near avg', async t => {
  const lengths = chunkBuffer(big, DEFAULT_CHUNKER)
  t.equal(boundsProblem(lengths, big.length, DEFAULT_CHUNKER), null, 'defaults: in bounds')
  const mean = big.length / lengths.length
  const { avg } = DEFAULT_CHUNKER
  t.ok(mean > 0.75 * avg && mean < 1.5 * avg, `mean chunk ${(mean / KiB).toFixed(0)} KiB, avg ${avg / KiB} KiB`)
  const mean2M = big.length / chunkBuffer(big, CHUNKER_2M).length
  t.ok(mean2M > 1.5 * MiB && mean2M < 3 * MiB, `2 MiB parameters: mean chunk ${(mean2M / MiB).toFixed(2)} MiB`)
  const small = chunkBuffer(big.subarray(0, 8 * MiB), SMALL)
  t.equal(boundsProblem(small, 8 * MiB, SMALL), null, 'small: in bounds')
  const smallMean = 8 * MiB / small.length
  t.ok(smallMean > 6 * KiB && smallMean < 12 * KiB, `mean chunk ${(smallMean / KiB).toFixed(1)} KiB`)
  t.same(chunkBuffer(Buffer.alloc(0), DEFAULT_CHUNKER), [], 'empty input: no chunk')
  t.same(chunkBuffer(Buffer.alloc(1), DEFAULT_CHUNKER), [1])
  t.same(chunkBuffer(big.subarray(0, DEFAULT_CHUNKER.min + 1), DEFAULT_CHUNKER), [DEFAULT_CHUNKER.min + 1])
})

t.test('long runs of zeros are cut at max', async t => {
  const { max } = DEFAULT_CHUNKER
  t.same(chunkBuffer(Buffer.alloc(5 * max + 5), DEFAULT_CHUNKER), [max, max, max, max, max, 5])
  t.same(chunkBuffer(Buffer.alloc(3 * max), DEFAULT_CHUNKER), [max, max, max])
  // Random, then 40 MiB of zeros, then random again: in bounds, zero chunks identical, and the
  // random data after the zeros is cut as it would be anyway once a cut point resynchronizes.
  const mixed = Buffer.concat([big.subarray(0, 3 * MiB), Buffer.alloc(40 * MiB), big.subarray(3 * MiB, 20 * MiB)])
  const lengths = chunkBuffer(mixed, DEFAULT_CHUNKER)
  t.equal(boundsProblem(lengths, mixed.length, DEFAULT_CHUNKER), null, 'mixed: in bounds')
  const hashes = chunkHashes(mixed, lengths)
  const zeroMax = sha256hex(Buffer.alloc(max))
  t.ok(hashes.filter(h => h === zeroMax).length >= 4, 'whole-max zero chunks, all one object')
  const tail = new Set(chunkHashes(big.subarray(0, 20 * MiB), chunkBuffer(big.subarray(0, 20 * MiB), DEFAULT_CHUNKER)).slice(-4))
  t.ok(hashes.slice(-4).filter(h => tail.has(h)).length >= 3, 'chunks after the zeros match the plain data')
})

t.test('a one-byte insertion changes at most 2 chunks', async t => {
  const before = new Set(chunkHashes(big, chunkBuffer(big, DEFAULT_CHUNKER)))
  for (const at of [1000, 700 * KiB, 3 * MiB + 12345]) {
    const edited = Buffer.concat([big.subarray(0, at), Buffer.from([0x5a]), big.subarray(at)])
    const after = new Set(chunkHashes(edited, chunkBuffer(edited, DEFAULT_CHUNKER)))
    const added = [...after].filter(h => !before.has(h)).length
    const lost = [...before].filter(h => !after.has(h)).length
    t.ok(added >= 1 && added <= 2, `insert at ${at}: ${added} new chunks`)
    t.ok(lost >= 1 && lost <= 2, `insert at ${at}: ${lost} chunks gone`)
  }
})

t.test('nextCut: -1 means "need more data", final takes the rest', async t => {
  const p = SMALL
  const cdc = new FastCdc(p)
  const data = testData(200 * KiB, 4)
  const first = chunkBuffer(data, p)[0] as number
  t.equal(cdc.nextCut(data, 0, data.length, false), first)
  t.equal(cdc.nextCut(data, 0, first, false), first, 'a cut at the very end of the data is a cut')
  t.equal(cdc.nextCut(data, 0, first - 1, false), -1, 'no cut yet: need more data')
  t.equal(cdc.nextCut(data, 0, first - 1, true), first - 1, 'final: the rest is the chunk')
  t.equal(cdc.nextCut(data, 0, p.min, false), -1)
  t.equal(cdc.nextCut(data, 0, p.min, true), p.min)
  t.equal(cdc.nextCut(data, 5, 5, true), 0, 'no data, final')
  t.equal(cdc.nextCut(data, 5, 5, false), -1, 'no data')
  // Starting anywhere: the same answer as chunking from there.
  t.equal(cdc.nextCut(data, 1234, data.length, false), chunkBuffer(data.subarray(1234), p)[0])
  const zeros = Buffer.alloc(p.max * 2)
  t.equal(cdc.nextCut(zeros, 0, p.max - 1, false), -1)
  t.equal(cdc.nextCut(zeros, 0, p.max, false), p.max, 'max bytes available: cut at max')
  t.equal(cdc.nextCut(zeros, 0, zeros.length, false), p.max)
})

t.test('validateParams', async t => {
  t.doesNotThrow(() => validateParams(DEFAULT_CHUNKER))
  t.doesNotThrow(() => validateParams(SMALL))
  t.doesNotThrow(() => validateParams(CHUNKER_2M))
  const bad: Array<[Partial<ChunkerParams>, RegExp]> = [
    [{ min: 3 * MiB }, /min < avg < max/],
    [{ max: 2 * MiB }, /min < avg < max/],
    [{ avg: 3 * MiB }, /power of two/],
    [{ min: 10 }, /at least 64/],
    [{ min: 1.5 }, /integer/],
    [{ max: NaN }, /integer/],
    [{ max: 2 ** 31 }, /at most/],
    [{ seed: -1 }, /seed/],
    [{ seed: 2 ** 32 }, /seed/],
    [{ seed: 0.5 }, /seed/],
  ]
  for (const [change, why] of bad) {
    const p = { ...CHUNKER_2M, ...change }
    t.throws(() => validateParams(p), { code: 'TARSHIFT_USAGE', message: why }, JSON.stringify(change))
    t.throws(() => new FastCdc(p), { code: 'TARSHIFT_USAGE' })
  }
})
