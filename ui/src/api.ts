/** Talking to the service: the token for this tab, JSON reads that throw a problem, and actions that report what the server said. */
import type { Problem } from './types.js'

const TOKEN_KEY = 'agent-state.token'

/** The bearer token lives in sessionStorage: entered once, kept for this tab only, gone when it closes. */
export const tokenStore = {
  get: (): string | null => sessionStorage.getItem(TOKEN_KEY),
  set: (token: string): void => sessionStorage.setItem(TOKEN_KEY, token),
  clear: (): void => sessionStorage.removeItem(TOKEN_KEY)
}

export function authHeaders (): Record<string, string> {
  const token = tokenStore.get()
  return token === null ? {} : { authorization: `Bearer ${token}` }
}

/** An RFC 9457 problem the service answered with. */
export class ApiError extends Error {
  readonly status: number
  readonly code: string
  constructor (status: number, code: string, detail: string) {
    super(detail)
    this.status = status
    this.code = code
  }
}

async function problemOf (res: Response): Promise<ApiError> {
  const body = await res.json().catch(() => null) as Partial<Problem> | null
  return new ApiError(res.status, body?.code ?? 'http_error', body?.detail ?? `HTTP ${res.status}`)
}

/** GETs a JSON read; a non-2xx answer throws its problem. */
export async function getJson<T> (path: string): Promise<T> {
  const res = await fetch(path, { headers: { accept: 'application/json', ...authHeaders() } })
  if (!res.ok) throw await problemOf(res)
  return await res.json() as T
}

export interface Answer {
  request: string
  status: number
  body: unknown
}

/** Sends an action and returns whatever the server answered, success or problem, so the page can show it. */
export async function send (method: string, path: string, body?: unknown): Promise<Answer> {
  const request = `${method} ${path}`
  // A POST from a page must be JSON, even with nothing to say: the service refuses a bare one from a browser.
  const payload = body === undefined && method === 'POST' ? {} : body
  try {
    const res = await fetch(path, {
      method,
      headers: { accept: 'application/json', ...authHeaders(), ...(payload === undefined ? {} : { 'content-type': 'application/json' }) },
      body: payload === undefined ? undefined : JSON.stringify(payload)
    })
    const text = await res.text()
    let parsed: unknown = text
    try { parsed = text === '' ? null : JSON.parse(text) } catch {}
    return { request, status: res.status, body: parsed }
  } catch (err) {
    return { request, status: 0, body: `no answer: ${(err as Error).message}` }
  }
}

/** A query string from the parameters that are set. */
export function query (params: Record<string, string | number | undefined | null>): string {
  const q = new URLSearchParams()
  for (const [k, v] of Object.entries(params)) if (v !== undefined && v !== null && v !== '') q.set(k, String(v))
  const s = q.toString()
  return s === '' ? '' : `?${s}`
}

/** A workspace name as path segments (each segment is URL-safe by the service's name rule, but encode anyway). */
export const workspacePath = (name: string): string => name.split('/').map(encodeURIComponent).join('/')
