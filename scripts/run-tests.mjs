// Runs every compiled test file with tap and ends with the plain summary line CI reads:
// "N passed, N failed" (counting assertions), exit code 1 on any failure.
import { spawn } from 'node:child_process'
import { readdirSync, statSync } from 'node:fs'
import { join } from 'node:path'

function findTests(dir, out = []) {
  for (const name of readdirSync(dir).sort()) {
    const p = join(dir, name)
    if (statSync(p).isDirectory()) findTests(p, out)
    else if (name.endsWith('.test.js')) out.push(p)
  }
  return out
}

const args = process.argv.slice(2)
const files = args.length ? args : findTests('dist/tests')
const child = spawn('npx', ['tap', '--reporter=tap', '--disable-coverage', '--allow-empty-coverage', ...files], {
  stdio: ['ignore', 'pipe', 'inherit'],
})
let passed = 0
let failed = 0
let buf = ''
// Every "not ok" line with the subtests it sits in, printed again at the end: CI shows only the
// tail of the output, and the failure must be named there.
const path = []
const failures = []
let diag
child.stdout.on('data', d => {
  process.stdout.write(d)
  buf += d.toString()
  let i
  while ((i = buf.indexOf('\n')) >= 0) {
    const line = buf.slice(0, i)
    buf = buf.slice(i + 1)
    // Count leaf assertions: indented "ok"/"not ok" lines whose subtest block did not precede them.
    const m = /^(\s*)(not ok|ok) \d+/.exec(line)
    if (m && !/ # SKIP/.test(line) && m[1].length > 0) {
      pendingLines.push({ indent: m[1].length, ok: m[2] === 'ok' })
    }
    // A "# Subtest" line opens a block; its closing ok line is not a leaf.
    const s = /^(\s*)# Subtest:? ?(.*)/.exec(line)
    if (s) {
      subtestIndents.push(s[1].length)
      const depth = s[1].length / 4
      path.length = depth
      path[depth] = s[2]
    }
    if (diag !== undefined) {
      // The YAML block after a "not ok" line: its message, location and diff, cut short.
      if (/^\s*\.\.\.$/.test(line) || diag.length >= 8 || /^\s*source:/.test(line)) diag = undefined
      else if (!/^\s*---$/.test(line)) diag.push(`      ${line.trim()}`)
    }
    if (m && m[2] === 'not ok') {
      failures.push(`${path.slice(0, m[1].length / 4 + 1).join(' > ')}: ${line.trim()}`)
      if (m[1].length > 0) {
        diag = []
        failures.push(diag)
      }
    }
  }
})
const pendingLines = []
const subtestIndents = []
child.on('close', code => {
  // Leaves are result lines with no "# Subtest" header at the same indentation waiting for them.
  // Simpler and robust: a result line is a subtest summary iff it is followed by nothing deeper;
  // tap prints each subtest's summary line at indent k after its body at indent k+4.
  const lines = pendingLines
  for (let i = 0; i < lines.length; i++) {
    const cur = lines[i]
    const prev = lines[i - 1]
    const isSummary = prev !== undefined && prev.indent > cur.indent
    if (isSummary) continue
    if (cur.ok) passed++
    else failed++
  }
  if (code !== 0 && failed === 0) failed = 1
  if (failures.length > 0) {
    console.log('\nFailed:')
    for (const f of failures) console.log(typeof f === 'string' ? `  ${f}` : f.join('\n'))
  }
  console.log(`${passed} passed, ${failed} failed`)
  process.exit(failed > 0 || code !== 0 ? 1 : 0)
})
