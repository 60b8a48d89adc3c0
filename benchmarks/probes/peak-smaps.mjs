// Where the peak RSS of a command goes: samples /proc/PID/smaps every 20 ms while the command
// runs and prints, for the sample with the highest RSS, the resident memory by kind of mapping
// (the node binary and other files, anonymous mappings by size class, thread stacks).
//   node benchmarks/probes/peak-smaps.mjs -- node bin/tarshift save ...   (doc/performance.md, "Peak RSS")
import { spawn } from 'node:child_process'
import { readFileSync, openSync } from 'node:fs'

const at = process.argv.indexOf('--')
const [cmd, ...args] = process.argv.slice(at + 1)
const child = spawn(cmd, args, { stdio: ['inherit', openSync('/dev/null', 'w'), 'inherit'] })

function sample(pid) {
  let text
  try { text = readFileSync(`/proc/${pid}/smaps`, 'latin1') } catch { return null }
  const maps = []
  let cur = null
  for (const line of text.split('\n')) {
    const m = /^([0-9a-f]+)-([0-9a-f]+) (\S+) \S+ \S+ \S+\s*(.*)$/.exec(line)
    if (m) { cur = { start: m[1], size: (parseInt(m[2], 16) - parseInt(m[1], 16)), perms: m[3], name: m[4], rss: 0 }; maps.push(cur); continue }
    const r = /^Rss:\s+(\d+) kB/.exec(line)
    if (r && cur) cur.rss = Number(r[1]) * 1024
  }
  return maps
}

function classify(m) {
  if (m.name.startsWith('/')) return m.name.includes('node_modules') || m.name.endsWith('.node') ? 'files: native addons' : m.name.endsWith('/node') ? 'files: node binary' : 'files: other'
  if (m.name === '[stack]') return 'main stack'
  if (m.name.startsWith('[')) return m.name
  const mb = m.size / 2 ** 20
  if (mb >= 60 && mb <= 68) return 'anon 64 MiB (malloc arenas)'
  if (mb > 8) return `anon > 8 MiB (${Math.round(mb)} MiB)`
  if (mb >= 1) return 'anon 1-8 MiB'
  return 'anon < 1 MiB'
}

let best = null
let bestRss = 0
const timer = setInterval(() => {
  const maps = sample(child.pid)
  if (!maps) return
  const rss = maps.reduce((a, m) => a + m.rss, 0)
  if (rss > bestRss) { bestRss = rss; best = maps }
}, 20)
child.on('exit', code => {
  clearInterval(timer)
  const by = new Map()
  for (const m of best ?? []) {
    const k = classify(m)
    const e = by.get(k) ?? { rss: 0, n: 0 }
    e.rss += m.rss; e.n++
    by.set(k, e)
  }
  console.log(`exit ${code}; peak sampled RSS ${(bestRss / 1e6).toFixed(1)} MB`)
  for (const [k, e] of [...by].sort((a, b) => b[1].rss - a[1].rss)) {
    if (e.rss > 0) console.log(`${(e.rss / 1e6).toFixed(1).padStart(7)} MB  ${String(e.n).padStart(4)} maps  ${k}`)
  }
  const big = (best ?? []).filter(m => m.rss > 1e6).sort((a, b) => b.rss - a.rss).slice(0, Number(process.env.TOP ?? 15))
  console.log('largest mappings:')
  for (const m of big) console.log(`${(m.rss / 1e6).toFixed(1).padStart(7)} MB of ${(m.size / 2 ** 20).toFixed(1)} MiB  ${m.start} ${m.perms} ${m.name}`)
})
