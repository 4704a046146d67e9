/** Token scopes, each including those before it: the service checks them, the CLI and the dashboard name them. */
export const SCOPES = ['read', 'write', 'admin'] as const
export type Scope = typeof SCOPES[number]
