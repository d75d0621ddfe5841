import type { FastifyInstance } from 'fastify'
import { errors } from '../../core/errors.js'
import { findRegion, REGIONS } from '../../core/regions.js'
import { sendList } from '../plugins/pagination.js'
import { regionJson } from '../serializers.js'

export function regionRoutes(app: FastifyInstance): void {
  app.get('/regions', async (request, reply) => sendList(request, reply, REGIONS.map(regionJson)))

  app.get<{ Params: { region: string } }>('/regions/:region', async (request) => {
    const region = findRegion(request.params.region)
    if (!region) throw errors.notFound('region')
    return regionJson(region)
  })
}
