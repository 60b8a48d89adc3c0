// Summarize V8 .cpuprofile files (node --cpu-prof): per thread, the top functions by self time,
// self time by source file / package, and the top functions by inclusive (total) time.
//
//   node benchmarks/cpuprofile-top.mjs DIR|FILE... [--top N]
//
// One profile is written per thread (main thread and each worker), so a save shows up as one
// main-thread profile and one per store worker. Self time = samples whose top frame is the
// function, weighted by the sampling interval (timeDeltas).
import { readdirSync, readFileSync, statSync } from 'node:fs'
import { basename, join } from 'node:path'

const args = process.argv.slice(2)
let top = 25
const files = []
for (let i = 0; i < args.length; i++) {
  if (args[i] === '--top') top = Number(args[++i])
  else if (statSync(args[i]).isDirectory()) {
    for (const f of readdirSync(args[i]).sort()) if (f.endsWith('.cpuprofile')) files.push(join(args[i], f))
  } else files.push(args[i])
}
if (files.length === 0) {
  console.error('usage: node benchmarks/cpuprofile-top.mjs DIR|FILE... [--top N]')
  process.exit(2)
}

function shortUrl(url) {
  if (!url) return ''
  let u = url.replace(/^file:\/\//, '')
  const nm = u.lastIndexOf('/node_modules/')
  if (nm >= 0) return 'npm:' + u.slice(nm + 14)
  const d = u.indexOf('/dist/')
  if (d >= 0) return u.slice(d + 6)
  return u
}

function group(url, name) {
  if (!url) {
    if (name.startsWith('(')) return name
    return '(native / builtin)'
  }
  const s = shortUrl(url)
  if (s.startsWith('npm:')) return 'npm:' + s.slice(4).split('/').slice(0, s[4] === '@' ? 2 : 1).join('/')
  if (s.startsWith('node:')) return s
  return s
}

const pct = (x, t) => ((100 * x) / t).toFixed(1).padStart(5) + '%'
const ms = x => (x / 1000).toFixed(0).padStart(7) + ' ms'

for (const file of files) {
  const p = JSON.parse(readFileSync(file, 'utf8'))
  const byId = new Map()
  const parent = new Map()
  for (const n of p.nodes) {
    byId.set(n.id, n)
    for (const c of n.children ?? []) parent.set(c, n.id)
  }
  const self = new Map() // node id -> µs
  let total = 0
  for (let i = 0; i < p.samples.length; i++) {
    const dt = p.timeDeltas[i] ?? 0
    self.set(p.samples[i], (self.get(p.samples[i]) ?? 0) + dt)
    total += dt
  }
  const key = n => `${n.callFrame.functionName || '(anonymous)'}  ${shortUrl(n.callFrame.url)}${n.callFrame.url ? ':' + (n.callFrame.lineNumber + 1) : ''}`
  const fnSelf = new Map()
  const fileSelf = new Map()
  const fnTotal = new Map()
  let idle = 0
  for (const [id, t] of self) {
    const n = byId.get(id)
    const k = key(n)
    if (n.callFrame.functionName === '(idle)') idle += t
    fnSelf.set(k, (fnSelf.get(k) ?? 0) + t)
    const g = group(n.callFrame.url, n.callFrame.functionName)
    fileSelf.set(g, (fileSelf.get(g) ?? 0) + t)
    // inclusive: every distinct function on the stack of this node gets t
    const seen = new Set()
    for (let cur = id; cur !== undefined; cur = parent.get(cur)) {
      const ck = key(byId.get(cur))
      if (seen.has(ck)) continue
      seen.add(ck)
      fnTotal.set(ck, (fnTotal.get(ck) ?? 0) + t)
    }
  }
  const busy = total - idle
  console.log(`\n== ${basename(file)}: ${(total / 1e6).toFixed(2)} s sampled, ${(busy / 1e6).toFixed(2)} s busy (not idle)`)
  console.log(`-- top ${top} by self time (% of busy)`)
  for (const [k, t] of [...fnSelf].filter(([k]) => !k.startsWith('(idle)')).sort((a, b) => b[1] - a[1]).slice(0, top)) console.log(`${ms(t)} ${pct(t, busy)}  ${k}`)
  console.log(`-- self time by file / package (% of busy)`)
  for (const [k, t] of [...fileSelf].filter(([k]) => k !== '(idle)').sort((a, b) => b[1] - a[1]).slice(0, 15)) console.log(`${ms(t)} ${pct(t, busy)}  ${k}`)
  console.log(`-- top ${top} by inclusive time (% of busy), own code only`)
  for (const [k, t] of [...fnTotal].filter(([k]) => k.includes('lib/')).sort((a, b) => b[1] - a[1]).slice(0, top)) console.log(`${ms(t)} ${pct(t, busy)}  ${k}`)
}
