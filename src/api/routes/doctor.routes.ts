/** localspace's own: `localspace doctor`, the daemon's view of the host, for the admin. */
import type { FastifyInstance } from 'fastify'
import { errors } from '../../core/errors.js'

export function doctorRoutes(app: FastifyInstance): void {
  app.get('/localspace/doctor', async (request) => {
    if (!request.account.isAdmin)
      throw errors.forbidden('Only the installation admin can run doctor.')
    return { checks: await app.ctx.runtime.doctor() }
  })
}
