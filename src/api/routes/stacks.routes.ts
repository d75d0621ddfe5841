/** `heroku stack` (schema stack): the one stack localspace offers (core/stacks.ts). */
import type { FastifyInstance } from 'fastify'
import { errors } from '../../core/errors.js'
import { STACK } from '../../core/stacks.js'
import { findApp } from '../access.js'
import { sendList } from '../plugins/pagination.js'
import { stackJson } from '../serializers.js'

export function stackRoutes(app: FastifyInstance): void {
  const { store } = app.ctx

  app.get('/stacks', async (request, reply) => sendList(request, reply, [stackJson()]))

  app.get<{ Params: { stack: string } }>('/stacks/:stack', async (request) => {
    if (request.params.stack !== STACK.name && request.params.stack !== STACK.id) {
      throw errors.notFound('stack')
    }
    return stackJson()
  })

  app.get<{ Params: { app: string } }>('/apps/:app/available-stacks', async (request, reply) => {
    findApp(store, request.account, request.params.app)
    return sendList(request, reply, [stackJson()])
  })
}
