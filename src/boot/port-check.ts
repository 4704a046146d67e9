/** A busy port, found before start-up opens the store, hydrates or recovers anything. */
import { createServer } from 'node:net'

export class PortInUseError extends Error {}

/**
 * Binds host:port for a moment and lets go. Another process could take the port in between; then listen
 * fails with the same EADDRINUSE, which server.ts turns into the same line.
 */
export async function assertPortFree (host: string, port: number): Promise<void> {
  if (port === 0) return
  const probe = createServer()
  await new Promise<void>((resolve, reject) => {
    probe.once('error', reject)
    probe.listen({ host, port, exclusive: true }, () => probe.close(() => resolve()))
  }).catch((err: NodeJS.ErrnoException) => {
    throw err.code === 'EADDRINUSE' ? portInUse(host, port) : err
  })
}

export function portInUse (host: string, port: number): PortInUseError {
  return new PortInUseError(`port ${port} on ${host} is already in use by another process: stop that process or set PORT`)
}
