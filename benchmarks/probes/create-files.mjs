// How long does creating small files take here: open(O_CREAT|O_EXCL) + write + close + rename, in
// 16^D fan-out directories (like the savedir, D=3) vs one directory.
//   node benchmarks/probes/create-files.mjs DIR [N=20000] [f,one] [D=3]   (DIR is removed afterwards)
import { mkdirSync, openSync, writeSync, closeSync, renameSync, rmSync } from 'node:fs'
import { randomBytes, createHash } from 'node:crypto'
const base = process.argv[2]; const N = Number(process.argv[3] ?? 20000)
rmSync(base, { recursive: true, force: true })
const D = Number(process.argv[5] ?? 3)
for (let i = 0; i < 16 ** D; i++) mkdirSync(`${base}/f/${i.toString(16).padStart(D, '0')}`, { recursive: true })
mkdirSync(`${base}/one`)
const data = randomBytes(10000)
for (const mode of (process.argv[4] ?? 'f,one').split(',')) {
  let tOpen = 0; const t0 = performance.now()
  for (let i = 0; i < N; i++) {
    const h = createHash('sha256').update(String(i) + mode + performance.now()).digest('hex')
    const dir = mode === 'f' ? `${base}/f/${h.slice(0, D)}` : `${base}/one`
    const tmp = `${dir}/.${h}.tmp`
    const a = performance.now(); const fd = openSync(tmp, 'wx', 0o600); tOpen += performance.now() - a
    writeSync(fd, data); closeSync(fd); renameSync(tmp, `${dir}/${h}.data`)
  }
  const t = performance.now() - t0
  console.log(`${mode === 'f' ? `${16 ** D} fan-out dirs`.padEnd(17) : 'one directory    '}: ${N} files in ${(t / 1000).toFixed(2)} s, ${(t / N * 1000).toFixed(0)} µs/file, open ${(tOpen / N * 1000).toFixed(0)} µs/file`)
}
rmSync(base, { recursive: true, force: true })
