// Savedirs of format version 1 (4,096 fan-out directories of three hex digits) are read and
// written by this tarshift, which makes version 2 (256 directories of two digits). A version 2
// savedir is turned into a version 1 one here, object by object, and then checked, restored
// through GNU tar's --diff, and saved into again.
import t from 'tap'
import fs from 'node:fs'
import path from 'node:path'
import { saveOk, tarshift, showRun } from '../helpers/cli.js'
import { restoreToTar, savedFullFixture } from '../helpers/restore-run.js'

/** Move every object into chunks/<first three digits>/, make all 4,096 of those, drop the rest. */
function toVersion1(savedir: string): number {
  const chunks = path.join(savedir, 'chunks')
  const old = fs.readdirSync(chunks)
  for (let i = 0; i < 4096; i++) fs.mkdirSync(path.join(chunks, i.toString(16).padStart(3, '0')), { mode: 0o700 })
  let moved = 0
  for (const d of old) {
    for (const f of fs.readdirSync(path.join(chunks, d))) {
      fs.renameSync(path.join(chunks, d, f), path.join(chunks, f.slice(0, 3), f))
      moved++
    }
    fs.rmdirSync(path.join(chunks, d))
  }
  const configPath = path.join(savedir, 'tarshift.json')
  const config = JSON.parse(fs.readFileSync(configPath, 'utf8')) as { version: number }
  config.version = 1
  fs.writeFileSync(configPath, JSON.stringify(config, null, 2) + '\n')
  return moved
}

t.test('a version 1 savedir is checked, restored and saved into', async t => {
  const fx = savedFullFixture(t, 3 * 1024 * 1024)
  t.equal(fs.readdirSync(path.join(fx.savedir, 'chunks')).length, 256, 'version 2: 256 fan-out directories')
  t.ok(toVersion1(fx.savedir) > 3, 'objects moved into the version 1 layout')

  const c = tarshift(['check', '-r', fx.savedir, '--read-data'])
  t.equal(c.status, 0, `check passes (${showRun(c)})`)
  const r = await restoreToTar(['-r', fx.savedir, 'latest'], ['--diff', '-f', '-', '-C', '/'])
  t.equal(r.restore.status, 0, r.restore.stderr)
  t.equal(r.tar.status, 0, `tar --diff finds no difference: ${r.tar.stdout}${r.tar.stderr}`)

  fs.writeFileSync(path.join(fx.src, 'new-in-v1.bin'), Buffer.alloc(3 * 1024 * 1024, 7).fill(9, 1000, 2000))
  const s = saveOk(fx.savedir, 'restore-test', [fx.src])
  t.ok(s.objectsNew > 0, 'the new save stored objects')
  const dirs = fs.readdirSync(path.join(fx.savedir, 'chunks'))
  t.equal(dirs.length, 4096, 'still only the 4,096 version 1 directories')
  t.ok(dirs.every(d => d.length === 3))
  const c2 = tarshift(['check', '-r', fx.savedir, '--read-data'])
  t.equal(c2.status, 0, `check passes after the new save (${showRun(c2)})`)
  const r2 = await restoreToTar(['-r', fx.savedir, 'latest'], ['--diff', '-f', '-', '-C', '/'])
  t.equal(r2.tar.status, 0, `the new saveset restores: ${r2.tar.stdout}${r2.tar.stderr}`)
})
