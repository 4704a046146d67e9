/**
 * Route schemas compiled on first use. Fastify compiles every route's validators and response
 * serializers when the app becomes ready: for ~40 routes that Ajv and fast-json-stringify code
 * generation was about half of an empty start, for routes most starts never see. The compiled
 * functions and their checks are the same; only the moment moves to a route's first request.
 */

type Call = (data: unknown, context?: unknown) => unknown

/**
 * Wraps a validator compiler. Fastify calls the function and then reads its `errors`, as Ajv leaves
 * them on the function.
 */
export function lazyValidators<Route, V extends { errors?: unknown }> (compiler: (route: Route) => V): (route: Route) => V {
  return (route) => {
    let compiled: V | undefined
    const validate: Call & { errors?: unknown, schemaEnv?: unknown } = (data, context) => {
      compiled ??= compiler(route)
      const result = (compiled as unknown as Call)(data, context)
      validate.errors = compiled.errors
      return result
    }
    // Fastify hands a validator that has `schemaEnv` (as Ajv's have) the request as the value's parent,
    // so that coercion can replace a whole query or params value; every validator here is Ajv's.
    validate.schemaEnv = true
    return validate as unknown as V
  }
}

/** Wraps a serializer compiler: a response schema is compiled when a response first needs it. */
export function lazySerializers<Route> (compiler: (route: Route) => (data: unknown) => string): (route: Route) => (data: unknown) => string {
  return (route) => {
    let compiled: ((data: unknown) => string) | undefined
    return (data) => {
      compiled ??= compiler(route)
      return compiled(data)
    }
  }
}
