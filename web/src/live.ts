/**
 * Live updates: one EventSource on GET /localspace/events for the whole page. The daemon sends
 * only what changed (`{space}` or `{app, space}`) and only what this user may see; views
 * subscribe with a filter and reload what they show through the API.
 */
export interface LiveEvent {
  event: string
  space?: string | null
  app?: string
}

type Listener = (e: LiveEvent) => void

const listeners = new Set<Listener>()
let source: EventSource | undefined

const NAMES = [
  'space.changed',
  'space.converged',
  'ruleset.changed',
  'network.changed',
  'app.changed',
  'formation.changed',
  'dynos.changed',
  'domains.changed',
  'build.created',
]

/**
 * After the stream was cut (a daemon restart, a network change) and the browser reconnected,
 * events may have been missed: every live view reloads.
 */
export const RESYNC = 'resync'

export function startLive(): void {
  if (source) return
  source = new EventSource('/localspace/events')
  let cut = false
  source.addEventListener('error', () => (cut = true))
  source.addEventListener('open', () => {
    if (!cut) return
    cut = false
    for (const l of listeners) l({ event: RESYNC })
  })
  for (const name of NAMES) {
    source.addEventListener(name, (m: MessageEvent<string>) => {
      const data = JSON.parse(m.data) as Omit<LiveEvent, 'event'>
      for (const l of listeners) l({ event: name, ...data })
    })
  }
}

export function stopLive(): void {
  source?.close()
  source = undefined
}

export function onLive(listener: Listener): () => void {
  listeners.add(listener)
  return () => listeners.delete(listener)
}
