#!/usr/bin/env node
/** The `agent-state` command: one subcommand per job, each with its own --help. */
import { CONNECTION_HELP, EXIT, ProblemError, UnreachableError, UsageError } from './common.js'
import { events } from './events.js'
import { mcp } from './mcp.js'
import { OPERATOR_COMMANDS, type Command } from './operator.js'
import { run } from './run.js'

const COMMANDS: Record<string, Command> = { run, ...OPERATOR_COMMANDS, events, mcp }

function overview (): string {
  const width = Math.max(...Object.keys(COMMANDS).map((n) => n.length))
  const lines = Object.entries(COMMANDS).map(([name, c]) => `  ${name.padEnd(width)}  ${c.summary}`)
  return `usage: agent-state <command> [options]\n\nCommands:\n${lines.join('\n')}\n\n` +
    `agent-state <command> --help shows a command's options.\n\n${CONNECTION_HELP}\n`
}

async function main (argv: string[]): Promise<number> {
  const [name, ...args] = argv
  if (name === undefined || name === '--help' || name === '-h' || name === 'help') {
    process.stdout.write(overview())
    return name === undefined ? EXIT.usage : EXIT.ok
  }
  const command = COMMANDS[name]
  if (command === undefined) {
    process.stderr.write(`agent-state: unknown command ${JSON.stringify(name)}\n\n${overview()}`)
    return EXIT.usage
  }
  // --help before `--` is ours; after it, it belongs to the wrapped command.
  const own = args.includes('--') ? args.slice(0, args.indexOf('--')) : args
  if (own.includes('--help') || own.includes('-h')) {
    process.stdout.write(`usage: ${command.usage}\n\n${command.summary}\n\n${CONNECTION_HELP}\n`)
    return EXIT.ok
  }
  try {
    return await command.run(args)
  } catch (err) {
    if (err instanceof UsageError) {
      process.stderr.write(`agent-state ${name}: ${err.message}\nusage: ${command.usage.split('\n')[0] as string}\n`)
      return EXIT.usage
    }
    if (err instanceof ProblemError || err instanceof UnreachableError) {
      process.stderr.write(`agent-state ${name}: ${err.message}\n`)
      return err instanceof ProblemError ? EXIT.problem : EXIT.unreachable
    }
    throw err
  }
}

process.exitCode = await main(process.argv.slice(2))
