import { useCallback, useEffect, useRef, useState } from 'preact/hooks'
import { onLive, RESYNC, type LiveEvent } from './live.js'

export interface Resource<T> {
  data: T | undefined
  error: Error | undefined
  reload: () => void
}

/** Bursts of events (a formation of 10 dynos starting) become one reload. */
const LIVE_DEBOUNCE_MS = 150

/**
 * Loads with `load` when `key` changes, and again when a live event matching `live` arrives.
 * A reload that fails keeps the last data and shows the error.
 */
export function useResource<T>(
  key: string,
  load: () => Promise<T>,
  live?: (e: LiveEvent) => boolean,
): Resource<T> {
  const [data, setData] = useState<T>()
  const [error, setError] = useState<Error>()
  const loadRef = useRef(load)
  loadRef.current = load
  const liveRef = useRef(live)
  liveRef.current = live
  const generation = useRef(0)

  const reload = useCallback(() => {
    const mine = ++generation.current
    loadRef.current().then(
      (d) => {
        if (mine !== generation.current) return
        setData(d)
        setError(undefined)
      },
      (e: unknown) => {
        if (mine === generation.current) setError(e instanceof Error ? e : new Error(String(e)))
      },
    )
  }, [])

  useEffect(() => {
    setData(undefined)
    reload()
    let timer: ReturnType<typeof setTimeout> | undefined
    const stop = onLive((e) => {
      if (!liveRef.current || (e.event !== RESYNC && !liveRef.current(e))) return
      clearTimeout(timer)
      timer = setTimeout(reload, LIVE_DEBOUNCE_MS)
    })
    return () => {
      stop()
      clearTimeout(timer)
    }
  }, [key, reload])

  return { data, error, reload }
}

/** Runs a change; while it runs `busy` is true, its refusal is `error` (the API's message). */
export function useAction(): {
  busy: boolean
  error: string | undefined
  run: (change: () => Promise<unknown>) => Promise<boolean>
  clear: () => void
} {
  const [busy, setBusy] = useState(false)
  const [error, setError] = useState<string>()
  const run = useCallback(async (change: () => Promise<unknown>) => {
    setBusy(true)
    setError(undefined)
    try {
      await change()
      return true
    } catch (e) {
      setError(e instanceof Error ? e.message : String(e))
      return false
    } finally {
      setBusy(false)
    }
  }, [])
  return { busy, error, run, clear: () => setError(undefined) }
}
