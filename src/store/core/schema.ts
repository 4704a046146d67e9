/** Schema pieces every feature's model uses, so a time or a nullable field is written one way everywhere. */
import { Type, type TSchema } from 'typebox'

/** An RFC 3339 time (stored and answered in the canonical UTC `…Z` form). */
export const DateTime = (description?: string) => Type.String(description === undefined ? { format: 'date-time' } : { format: 'date-time', description })

/** `schema` or null. */
export const Nullable = <T extends TSchema>(schema: T, description?: string) =>
  Type.Union([schema, Type.Null()], description === undefined ? {} : { description })
