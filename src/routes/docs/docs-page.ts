/**
 * The `/docs` page: the OpenAPI document rendered as one self-contained HTML page (no scripts, no CDN), so
 * the reference works offline and on a machine that can only reach this service.
 */

/** The parts of a JSON Schema (as @fastify/swagger emits it) the page shows. */
interface Schema {
  $ref?: string
  type?: string
  format?: string
  description?: string
  enum?: unknown[]
  const?: unknown
  pattern?: string
  minimum?: number
  maximum?: number
  maxLength?: number
  default?: unknown
  properties?: Record<string, Schema>
  required?: string[]
  additionalProperties?: boolean | Schema
  items?: Schema
  anyOf?: Schema[]
  oneOf?: Schema[]
}

interface Content {
  schema?: Schema
}

interface Operation {
  operationId: string
  summary?: string
  description?: string
  tags?: string[]
  parameters?: Array<{ name: string, in: string, required?: boolean, description?: string, schema?: Schema }>
  requestBody?: { description?: string, required?: boolean, content?: Record<string, Content> }
  responses?: Record<string, { description?: string, content?: Record<string, Content> }>
  security?: unknown[]
}

export interface OpenApiDocument {
  info: { title: string, version: string, description?: string }
  tags?: Array<{ name: string, description?: string }>
  paths: Record<string, Record<string, Operation>>
  components?: { schemas?: Record<string, Schema> }
}

// Nested objects deeper than this are left to /openapi.json: the page is for reading, not for every corner.
const MAX_DEPTH = 5

const ESCAPES: Record<string, string> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' }
const esc = (s: string): string => s.replace(/[&<>"']/g, (c) => ESCAPES[c] as string)

/** Escaped text with the one piece of Markdown the descriptions use: `code`. */
const prose = (s: string | undefined): string => s === undefined ? '' : esc(s).replace(/`([^`]+)`/g, '<code>$1</code>')

const refName = (ref: string): string => ref.slice(ref.lastIndexOf('/') + 1)

/** A one-line type: `string (date-time)`, `array of Problem`, `"a" | "b"`. */
function typeLabel (s: Schema): string {
  if (s.$ref !== undefined) return `<a href="#schema-${esc(refName(s.$ref))}">${esc(refName(s.$ref))}</a>`
  if (s.const !== undefined) return `<code>${esc(JSON.stringify(s.const))}</code>`
  if (s.enum !== undefined) return s.enum.map((v) => `<code>${esc(JSON.stringify(v))}</code>`).join(' | ')
  const alternatives = s.anyOf ?? s.oneOf
  if (alternatives !== undefined) return alternatives.map(typeLabel).join(' | ')
  if (s.type === 'array') return `array of ${s.items === undefined ? 'anything' : typeLabel(s.items)}`
  if (s.type === 'object' && s.properties === undefined && typeof s.additionalProperties === 'object') {
    return `map of string → ${typeLabel(s.additionalProperties)}`
  }
  const limits = [
    s.format,
    s.pattern === undefined ? undefined : `pattern <code>${esc(s.pattern)}</code>`,
    s.minimum === undefined ? undefined : `≥ ${s.minimum}`,
    s.maximum === undefined ? undefined : `≤ ${s.maximum}`,
    s.maxLength === undefined ? undefined : `≤ ${s.maxLength} chars`,
    s.default === undefined ? undefined : `default <code>${esc(JSON.stringify(s.default))}</code>`
  ].filter((x) => x !== undefined)
  return esc(s.type ?? 'any') + (limits.length > 0 ? ` <span class="limits">(${limits.join(', ')})</span>` : '')
}

/** The fields of an object schema (or of the objects inside an array, map or union), nested as lists. */
function fields (s: Schema, depth: number): string {
  if (depth > MAX_DEPTH) return ''
  if (s.properties !== undefined) {
    const required = new Set(s.required ?? [])
    const items = Object.entries(s.properties).map(([name, p]) =>
      `<li><code>${esc(name)}</code>${required.has(name) ? '' : ' <span class="opt">optional</span>'} <span class="type">${typeLabel(p)}</span>` +
      `${p.description === undefined ? '' : ` — ${prose(p.description)}`}${fields(p, depth + 1)}</li>`)
    return `<ul class="fields">${items.join('')}</ul>`
  }
  if (s.items !== undefined) return fields(s.items, depth)
  if (typeof s.additionalProperties === 'object') return fields(s.additionalProperties, depth)
  return (s.anyOf ?? s.oneOf ?? []).map((a) => fields(a, depth)).join('')
}

/** A schema with its fields; `shown` is a description already on the page (the response's), not repeated. */
function schemaBlock (s: Schema | undefined, shown?: string): string {
  if (s === undefined) return ''
  const description = s.description === undefined || s.description === shown ? '' : ` — ${prose(s.description)}`
  return `<div class="schema"><span class="type">${typeLabel(s)}</span>${description}${fields(s, 0)}</div>`
}

function contentBlock (content: Record<string, Content> | undefined, shown: string | undefined): string {
  return Object.entries(content ?? {}).map(([type, c]) => `<p class="ctype"><code>${esc(type)}</code></p>${schemaBlock(c.schema, shown)}`).join('')
}

function operationHtml (method: string, path: string, op: Operation): string {
  const params = op.parameters ?? []
  const paramRows = params.map((p) => `<tr><td><code>${esc(p.name)}</code></td><td>${esc(p.in)}</td><td>${p.schema === undefined ? '' : typeLabel(p.schema)}</td>` +
    `<td>${p.required === true ? 'yes' : ''}</td><td>${prose(p.description)}</td></tr>`)
  const responses = Object.entries(op.responses ?? {}).map(([status, r]) =>
    `<details><summary><span class="status s${esc(status[0] ?? '')}">${esc(status)}</span> ${prose(r.description)}</summary>${contentBlock(r.content, r.description)}</details>`)
  return `<article id="op-${esc(op.operationId)}">
<h3><span class="method ${esc(method)}">${esc(method.toUpperCase())}</span> <code>${esc(path)}</code></h3>
<p class="summary">${prose(op.summary)}</p>
${op.description === undefined ? '' : `<p>${prose(op.description)}</p>`}
<p class="meta">operationId <code>${esc(op.operationId)}</code> · ${(op.security ?? []).length > 0 ? 'needs <code>Authorization: Bearer &lt;token&gt;</code> when tokens are configured' : 'open: no token needed'}</p>
${params.length === 0 ? '' : `<h4>Parameters</h4><table><tr><th>name</th><th>in</th><th>type</th><th>required</th><th>description</th></tr>${paramRows.join('')}</table>`}
${op.requestBody === undefined ? '' : `<h4>Request body${op.requestBody.required === true ? '' : ' (optional)'}</h4>${op.requestBody.description === undefined ? '' : `<p>${prose(op.requestBody.description)}</p>`}${contentBlock(op.requestBody.content, op.requestBody.description)}`}
<h4>Responses</h4>${responses.join('')}
</article>`
}

const STYLE = `body{font:15px/1.5 system-ui,sans-serif;margin:0 auto;max-width:70rem;padding:1rem 2rem;color:#1d1d1f}
code{font:13px ui-monospace,monospace;background:#f3f3f5;padding:0 .25em;border-radius:3px}
a{color:#0a58ca}h2{border-bottom:1px solid #ddd;margin-top:2.5rem}article{border:1px solid #e3e3e8;border-radius:6px;padding:.5rem 1rem;margin:1rem 0}
h3{margin:.3rem 0}h4{margin:.8rem 0 .3rem}.summary{font-weight:600;margin:.2rem 0}.meta,.limits,.opt{color:#666;font-size:13px}
.method{display:inline-block;min-width:4.2em;text-align:center;color:#fff;border-radius:3px;font-size:13px;padding:0 .3em}
.get{background:#1f7a3d}.put{background:#a15c00}.post{background:#0a58ca}.delete{background:#b02a37}.patch{background:#6f42c1}
.status{font-weight:700}.s2{color:#1f7a3d}.s4{color:#b02a37}.s5{color:#6f42c1}table{border-collapse:collapse}td,th{border:1px solid #e3e3e8;padding:.2rem .5rem;text-align:left;vertical-align:top}
.fields{margin:.2rem 0;padding-left:1.2rem}.ctype{margin:.3rem 0 0}nav ul{list-style:none;padding-left:0;columns:2}nav li{margin:.1rem 0}details{margin:.2rem 0}`

/** The whole page: a table of contents by tag, every operation, then the shared schemas. */
export function renderDocs (doc: OpenApiDocument): string {
  const ops = Object.entries(doc.paths).flatMap(([path, methods]) => Object.entries(methods).map(([method, op]) => ({ path, method, op })))
  // Each operation is listed once, under its first tag; an untagged one still appears, under `other`.
  const tagOf = (op: Operation): string => op.tags?.[0] ?? 'other'
  const tagNames = [...new Set([...(doc.tags ?? []).map((t) => t.name), ...ops.map((o) => tagOf(o.op))])]
  const byTag = tagNames.map((name) => ({
    name,
    description: doc.tags?.find((t) => t.name === name)?.description,
    ops: ops.filter((o) => tagOf(o.op) === name)
  })).filter((t) => t.ops.length > 0)
  const toc = byTag.map((t) => `<h3>${esc(t.name)}</h3><ul>${t.ops.map((o) =>
    `<li><a href="#op-${esc(o.op.operationId)}"><span class="method ${esc(o.method)}">${esc(o.method.toUpperCase())}</span> <code>${esc(o.path)}</code></a> ${prose(o.op.summary)}</li>`).join('')}</ul>`)
  const sections = byTag.map((t) => `<section id="tag-${esc(t.name)}"><h2>${esc(t.name)}</h2>${t.description === undefined ? '' : `<p>${prose(t.description)}</p>`}
${t.ops.map((o) => operationHtml(o.method, o.path, o.op)).join('\n')}</section>`)
  const schemas = Object.entries(doc.components?.schemas ?? {}).map(([name, s]) => `<article id="schema-${esc(name)}"><h3>${esc(name)}</h3>${schemaBlock(s)}</article>`)
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width,initial-scale=1">
<title>${esc(doc.info.title)} ${esc(doc.info.version)} — API reference</title><style>${STYLE}</style></head>
<body><header><h1>${esc(doc.info.title)} <small>${esc(doc.info.version)}</small></h1><p>${prose(doc.info.description)}</p>
<p>The same description as OpenAPI 3.1: <a href="/openapi.json">/openapi.json</a>.</p></header>
<nav><h2>Operations</h2>${toc.join('')}</nav>
<main>${sections.join('\n')}${schemas.length === 0 ? '' : `<section id="schemas"><h2>Schemas</h2>${schemas.join('')}</section>`}</main>
</body></html>
`
}
