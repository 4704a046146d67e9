/** What an event is: its types and its shape, shared by the log, the stream, the store and the metrics. */
/**
 * Every event type the service records; `GET /v1/events?type=` is validated against this list, so a new
 * kind of change adds its type here (record() accepts nothing else).
 */
export const EVENT_TYPES = ['workspace', 'pool', 'backoff', 'config', 'sync', 'buffer', 'recovery'] as const
export type EventType = typeof EVENT_TYPES[number]

export interface ChangeEvent {
  /** Only grows, across restarts. */
  id: number
  type: EventType
  subject: string
  at: string
  data: unknown
}
