// native.objectsExist: which objects of many have a .data file, answered off the JavaScript
// threads; a fan-out directory asked for 16 or more is listed, the others stat'd; only ENOENT
// (and ENOTDIR) mean "missing", any other failure rejects with code, syscall and path.
import t from 'tap'
import fs from 'node:fs'
import path from 'node:path'
import { createHash } from 'node:crypto'
import { native } from '../../lib/fs/native.js'

const hashOf = (s: string): string => createHash('sha256').update(s).digest('hex')

/** `n` hashes that start with `prefix`, from a seed (searched, not random: the same every run). */
function hashesWithPrefix(prefix: string, n: number, seed: string): string[] {
  const out: string[] = []
  for (let i = 0; out.length < n; i++) {
    const h = hashOf(`${seed}-${i}`)
    if (h.startsWith(prefix)) out.push(h)
  }
  return out
}

function place(chunks: string, digits: number, hash: string, suffix = '.data'): void {
  const d = path.join(chunks, hash.slice(0, digits))
  fs.mkdirSync(d, { recursive: true })
  fs.writeFileSync(path.join(d, hash + suffix), 'x')
}

for (const digits of [2, 3]) {
  t.test(`fan-out of ${digits} digits: listed and stat'd directories give the same answers, in the order asked`, async t => {
    const chunks = path.join(t.testdir(), 'chunks')
    fs.mkdirSync(chunks)
    const p1 = 'ab0'.slice(0, digits), p2 = 'c1d'.slice(0, digits), p3 = 'ef2'.slice(0, digits)
    const listed = hashesWithPrefix(p1, 30, 'listed') // >= 16 asked: the directory is listed
    const statted = hashesWithPrefix(p2, 5, 'statted') // < 16: each stat'd
    const noDir = hashesWithPrefix(p3, 20, 'nodir') // their directory does not exist
    const present = new Set<string>()
    for (const [i, h] of listed.entries()) if (i % 3 !== 0) { place(chunks, digits, h); present.add(h) }
    for (const [i, h] of statted.entries()) if (i % 2 === 0) { place(chunks, digits, h); present.add(h) }
    // Neither a temporary file nor another suffix counts as the object.
    place(chunks, digits, listed[0] as string, '.data.tmp')
    place(chunks, digits, statted[1] as string, '.touch')
    const asked = [...listed, ...statted, ...noDir, listed[1] as string, listed[0] as string] // repeats, out of order
    asked.sort((a, b) => (hashOf(a) < hashOf(b) ? -1 : 1))
    const found = await native.objectsExist(Buffer.from(chunks), digits, asked.join(''))
    t.type(found, Uint8Array)
    t.equal(found.length, asked.length, 'one byte per hash')
    t.same([...found], asked.map(h => (present.has(h) ? 1 : 0)), 'exactly the placed objects')
    t.ok(present.size > 0 && present.size < asked.length, 'some there, some not')
  })
}

t.test('nothing asked; a savedir without chunks/', async t => {
  const dir = t.testdir()
  t.same([...await native.objectsExist(Buffer.from(path.join(dir, 'chunks')), 2, '')], [])
  const hs = hashesWithPrefix('', 40, 'none')
  t.same([...await native.objectsExist(Buffer.from(path.join(dir, 'chunks')), 2, hs.join(''))], hs.map(() => 0))
})

t.test('a failure other than ENOENT rejects with its code, syscall and path', async t => {
  const chunks = path.join(t.testdir(), 'chunks')
  fs.mkdirSync(chunks)
  const many = hashesWithPrefix('aa', 20, 'loop-listed')
  const few = hashesWithPrefix('bb', 2, 'loop-statted')
  // Fan-out "directories" that are symlinks to themselves: opendir and stat fail with ELOOP.
  fs.symlinkSync('aa', path.join(chunks, 'aa'))
  fs.symlinkSync('bb', path.join(chunks, 'bb'))
  await t.rejects(native.objectsExist(Buffer.from(chunks), 2, many.join('')),
    { code: 'ELOOP', syscall: 'opendir', path: path.join(chunks, 'aa') }, 'a directory that cannot be listed')
  await t.rejects(native.objectsExist(Buffer.from(chunks), 2, few.join('')),
    { code: 'ELOOP', syscall: 'stat', path: path.join(chunks, 'bb', `${[...few].sort()[0] as string}.data`) }, 'an object that cannot be stat\'d (the first in hash order)')
})

t.test('bad arguments are TypeErrors, thrown at once', async t => {
  const b = Buffer.from('/tmp')
  t.throws(() => native.objectsExist('/tmp' as unknown as Buffer, 2, ''), TypeError)
  t.throws(() => native.objectsExist(b, 0, ''), TypeError)
  t.throws(() => native.objectsExist(b, 2, 'abc'), TypeError, 'not a whole number of 64-character names')
  t.throws(() => native.objectsExist(Buffer.from('/tm\0p'), 2, ''), TypeError, 'a NUL in the path')
  t.throws(() => (native.objectsExist as unknown as () => unknown)(), TypeError)
})
