// Corpus C for benchmarks/compare.sh: one directory of COUNT small files (1-200 bytes of
// pseudo-random text from a fixed seed), the largest directory the save's memory target names
// ("under 300 MB for any tree whose largest directory has < 100,000 entries"). Prints a line
// for the .done file. Usage: node gen-big-dir.mjs DIR COUNT
import { mkdirSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'

const [dir, countArg] = process.argv.slice(2)
const count = Number(countArg)
if (!dir || !Number.isInteger(count) || count < 1) throw new Error('usage: gen-big-dir.mjs DIR COUNT')
const big = join(dir, 'big')
mkdirSync(big, { recursive: true })
let seed = 0xc0ffee
const rnd = () => ((seed = (Math.imul(seed, 1103515245) + 12345) >>> 0) / 4294967296)
const letters = 'abcdefghijklmnopqrstuvwxyz0123456789 \n'
let bytes = 0
for (let i = 0; i < count; i++) {
  const n = 1 + Math.floor(rnd() * 200)
  let s = ''
  for (let k = 0; k < n; k++) s += letters[Math.floor(rnd() * letters.length)]
  writeFileSync(join(big, `file-${String(i).padStart(6, '0')}-${Math.floor(rnd() * 1e6).toString(36)}.txt`), s)
  bytes += n
}
console.log(`${count} files, ${bytes} bytes in one directory`)
