// Object paths: dataPath builds them without path.join for object names, and must give the
// same path join would, for any way of writing the savedir and either fan-out width.
import t from 'tap'
import { join } from 'node:path'
import { randomBytes } from 'node:crypto'
import { dataPath, setFanoutDigits } from '../../lib/repo/layout.js'

t.test('dataPath equals path.join for object names, whatever the savedir spelling', async t => {
  const savedirs = ['/', '.', 'sd', './sd/', 'a/../sd', '/tmp//x/', '/tmp/x/.', 'rel/ative/../dir/']
  for (const [i, savedir] of savedirs.entries()) {
    const digits = i % 2 === 0 ? 2 : 3
    setFanoutDigits(savedir, digits)
    for (let k = 0; k < 20; k++) {
      const hash = randomBytes(32).toString('hex')
      t.equal(dataPath(savedir, hash), join(savedir, 'chunks', hash.slice(0, digits), `${hash}.data`), `${savedir} ${digits}`)
    }
  }
})

t.test('a name that is not an object name still goes through path.join', async t => {
  setFanoutDigits('/sd', 2)
  t.equal(dataPath('/sd', '../x'), join('/sd', 'chunks', '..', '../x.data'))
  t.equal(dataPath('/sd', 'ABCD'), join('/sd', 'chunks', 'AB', 'ABCD.data'))
})
