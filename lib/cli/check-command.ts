import type { Command } from './main.js'
import { UsageError } from '../errors.js'
const command: Command = { summary: 'tarshift check', usage: 'not yet built\n', async run() { throw new UsageError('check is not built yet') } }
export default command
