/**
 * The one stack localspace offers. Builds and dynos use the host's /usr (runtime/), so there
 * is nothing to choose between; `heroku stack:set` to any other stack is refused (422).
 */
import { errors } from './errors.js'
import { stableId } from './ids.js'

export const STACK_NAME = 'heroku-24'
export const STACK = { id: stableId('stack', STACK_NAME), name: STACK_NAME } as const

/** Throws 422 unless `name` is the stack offered; `field` names what the caller sent. */
export function checkStack(name: string, field: string): void {
  if (name !== STACK_NAME && name !== STACK.id) {
    throw errors.invalidParams(
      `${field} ${JSON.stringify(name)} is not available: localspace offers one stack, ${STACK_NAME} (builds and dynos use the host's system).`,
    )
  }
}
