import type { FastifyReply, FastifyRequest } from 'fastify'
import { paginate, parseRange } from '../../core/range.js'

type Keyed = Record<string, unknown>

/**
 * Sends a list with Heroku's Range semantics: 200 when the list is complete, 206 with
 * Next-Range when more follows. `fields` are the Range fields the list supports.
 */
export function sendList<T extends Keyed>(
  request: FastifyRequest,
  reply: FastifyReply,
  items: readonly T[],
  fields: readonly string[] = ['id', 'name'],
): T[] {
  const header = request.headers.range
  const spec = parseRange(header, fields, fields.includes('name') ? 'name' : fields[0]!)
  const page = paginate(items, spec, (item, field) => {
    const v = item[field]
    return typeof v === 'number' ? v : typeof v === 'string' ? v : ''
  })
  void reply.header('Accept-Ranges', fields.join(', '))
  if (page.contentRange) void reply.header('Content-Range', page.contentRange)
  if (page.nextRange) void reply.code(206).header('Next-Range', page.nextRange)
  return page.items
}
