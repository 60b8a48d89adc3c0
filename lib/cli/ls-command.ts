import type { Command } from './main.js'
import { UsageError } from '../errors.js'
const command: Command = { summary: 'tarshift ls', usage: 'not yet built\n', async run() { throw new UsageError('ls is not built yet') } }
export default command
