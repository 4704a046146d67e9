/** Token scopes, each including those before it: the service checks them, the CLI and the dashboard name them. */
export const SCOPES = ['read', 'write', 'admin'] as const
export type Scope = typeof SCOPES[number]

/** Whether a token with scope `has` may do what needs `needs`: each scope includes those before it. */
export const grants = (has: Scope, needs: Scope): boolean => SCOPES.indexOf(has) >= SCOPES.indexOf(needs)
