// runUntil leaves the process stopped in the state it saw; null once the process has ended.
import t from 'tap'
import fs from 'node:fs'
import path from 'node:path'
import { spawn } from 'node:child_process'
import { tmpDirFor } from './fixture-tree.js'
import { runUntil, stopProcess } from './run-in-slices.js'

const sleep = (ms: number): Promise<void> => new Promise(r => setTimeout(r, ms))

function counter(file: string, upTo: number): ReturnType<typeof spawn> {
  const code = `const fs=require('fs');let n=0;const i=setInterval(()=>{fs.writeFileSync(${JSON.stringify(file)},String(++n));if(n>=${upTo})clearInterval(i)},5)`
  return spawn(process.execPath, ['-e', code], { stdio: 'ignore' })
}

const read = (file: string): number | undefined => {
  try {
    return Number(fs.readFileSync(file, 'utf8'))
  } catch {
    return undefined
  }
}

t.test('stops the process at the state seen, and keeps it there', async t => {
  const file = path.join(tmpDirFor(t, 'tarshift-slices-'), 'n')
  const child = counter(file, 1_000_000)
  const pid = child.pid as number
  t.teardown(() => { child.kill('SIGKILL') })
  const seen = await runUntil(pid, () => { const n = read(file); return n !== undefined && n >= 20 ? n : undefined }, 30_000)
  t.ok(seen !== null && seen >= 20, `seen ${seen}`)
  await sleep(200)
  t.equal(read(file), seen, 'nothing happened while stopped')
  process.kill(pid, 'SIGCONT')
  // Polled, not one look after a fixed wait: on a loaded machine the child may not run for a
  // while, and a look can fall between writeFileSync's truncation and its write (read as 0).
  const deadline = performance.now() + 10_000
  let later = read(file) ?? 0
  while (later <= (seen ?? 0) && performance.now() < deadline) {
    await sleep(20)
    later = read(file) ?? 0
  }
  t.ok(later > (seen ?? 0), `it goes on after SIGCONT (${later})`)
})

t.test('null when the process ends before the state is seen', async t => {
  const file = path.join(tmpDirFor(t, 'tarshift-slices-'), 'n')
  const child = counter(file, 5)
  const ended = new Promise(r => child.on('exit', r))
  const seen = await runUntil(child.pid as number, () => undefined, 30_000)
  t.equal(seen, null)
  await ended
  t.equal(read(file), 5, 'it ran to its end')
  t.equal(await stopProcess(child.pid as number), false, 'a process that is gone cannot be stopped')
})
