/** `agent-state mcp`: the service's MCP tools on stdin/stdout, for MCP clients that launch their servers as processes. */
import { UsageError, connect, parse } from './common.js'
import type { Command } from './operator.js'

export const mcp: Command = {
  summary: 'serve the MCP tools on stdin/stdout, forwarding to the service',
  usage: `agent-state mcp
  Speaks the Model Context Protocol on stdin and stdout and forwards every request to the service's /mcp
  with the token; register it in an MCP client as a command (docs/cli.md shows how). Runs until stdin ends.`,
  async run (args) {
    const { values, positionals } = parse(args, {})
    if (positionals.length > 0) throw new UsageError(`unexpected argument: ${positionals[0] as string}`)
    const conn = connect(values)
    // The MCP SDK is loaded by this command only: the others start as fast as before.
    const { serveStdio } = await import('./mcp-bridge.js')
    return await serveStdio(conn.url, conn.token)
  }
}
