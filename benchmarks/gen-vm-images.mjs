// Corpus B for benchmarks/compare.sh: a few large "VM image" files from a fixed seed.
//
//   node benchmarks/gen-vm-images.mjs DIR [FILES] [MIB_PER_FILE]     (default 4 files of 512 MiB)
//
// Each file is a sequence of 1 MiB blocks. The sequence is cut into runs of 1-16 blocks; a run
// either copies a run of blocks seen earlier in the corpus (about 40% of the blocks, like a
// cloned base image or a copied file inside the image), or is new random data. Runs rather than
// single blocks, because the tools' chunkers cut 1-2 MiB chunks on average at content-defined
// places: an isolated repeated 1 MiB block between random ones would rarely dedup in any tool,
// a repeated run of several MiB does.
//
// Random block number k is AES-128-CTR over zeros with a fixed key and IV = k, so any block can
// be regenerated (a repeat copies the block numbers of the earlier run, not its bytes) and the
// whole corpus is the same on every machine. Generation runs at AES speed (~1-2 GB/s).
import { createCipheriv } from 'node:crypto'
import { closeSync, mkdirSync, openSync, renameSync, writeSync } from 'node:fs'
import { join } from 'node:path'

const MiB = 1024 * 1024
const dir = process.argv[2]
if (!dir) {
  console.error('usage: node benchmarks/gen-vm-images.mjs DIR [FILES] [MIB_PER_FILE]')
  process.exit(2)
}
const files = Number(process.argv[3] ?? 4)
const blocksPerFile = Number(process.argv[4] ?? 512)
const REPEAT_SHARE = 0.4
const KEY = Buffer.from('7461727368696674' + '2d62656e63682d42', 'hex') // "tarshift-bench-B"

// mulberry32: small seeded PRNG, deterministic across Node versions.
function prng(seed) {
  let a = seed >>> 0
  return () => {
    a = (a + 0x6d2b79f5) >>> 0
    let t = a
    t = Math.imul(t ^ (t >>> 15), t | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }
}
const rand = prng(0x7a25)
const zeros = Buffer.alloc(MiB)

function randomBlock(k) {
  const iv = Buffer.alloc(16)
  iv.writeUInt32BE(k, 4) // counter bytes 8-15 stay apart: no two blocks share keystream
  iv.writeUInt32BE(0xb10c, 0)
  const c = createCipheriv('aes-128-ctr', KEY, iv)
  return c.update(zeros)
}

// Plan the whole corpus first: the block number at every position.
const total = files * blocksPerFile
const plan = new Int32Array(total)
let next = 0
let repeated = 0
for (let at = 0; at < total;) {
  const len = Math.min(total - at, 1 + Math.floor(rand() * 16))
  if (at >= 16 && rand() < REPEAT_SHARE) {
    const from = Math.floor(rand() * (at - len + 1 > 0 ? at - len + 1 : at))
    for (let i = 0; i < len; i++) plan[at + i] = plan[Math.min(from + i, at - 1)]
    repeated += len
  } else {
    for (let i = 0; i < len; i++) plan[at + i] = next++
  }
  at += len
}

mkdirSync(dir, { recursive: true })
for (let f = 0; f < files; f++) {
  const name = join(dir, `vm-${f}.img`)
  const fd = openSync(name + '.tmp', 'w')
  for (let b = 0; b < blocksPerFile; b++) writeSync(fd, randomBlock(plan[f * blocksPerFile + b]))
  closeSync(fd)
  renameSync(name + '.tmp', name)
}
console.log(JSON.stringify({ files, bytes: total * MiB, blocks: total, uniqueBlocks: next, repeatedBlocks: repeated }))
