/** Sign in with email and password, or with an API key (`heroku auth:token`). */
import { useState } from 'preact/hooks'
import { api, credentialsHeader } from '../api.js'
import { useAction } from '../hooks.js'
import { ErrorNote } from '../ui.js'
import type { Account } from '../types.js'

export interface SessionJson {
  account: Account
  csrf_token: string
}

export function SignIn({ onSignedIn }: { onSignedIn: (s: SessionJson) => void }) {
  const [mode, setMode] = useState<'password' | 'key'>('password')
  const [email, setEmail] = useState('')
  const [password, setPassword] = useState('')
  const [key, setKey] = useState('')
  const action = useAction()

  const submit = async (e: Event) => {
    e.preventDefault()
    const creds = mode === 'key' ? { key } : { email, password }
    await action.run(async () => {
      const session = await api<SessionJson>('POST', '/localspace/session', undefined, {
        authorization: credentialsHeader(creds),
      })
      // The key is not kept: the form forgets it, the session cookie stands for it.
      setKey('')
      setPassword('')
      onSignedIn(session)
    })
  }

  return (
    <main id="main" class="signin" tabIndex={-1}>
      <h1>Sign in to localspace</h1>
      <form onSubmit={(e) => void submit(e)} class="card">
        <fieldset>
          <legend>Sign in with</legend>
          <label>
            <input
              type="radio"
              name="mode"
              checked={mode === 'password'}
              onChange={() => setMode('password')}
            />
            Email and password
          </label>
          <label>
            <input
              type="radio"
              name="mode"
              checked={mode === 'key'}
              onChange={() => setMode('key')}
            />
            API key
          </label>
        </fieldset>
        {mode === 'password' ? (
          <>
            <label for="email">Email</label>
            <input
              id="email"
              type="email"
              autoComplete="username"
              required
              value={email}
              onInput={(e) => setEmail(e.currentTarget.value)}
            />
            <label for="password">Password</label>
            <input
              id="password"
              type="password"
              autoComplete="current-password"
              required
              value={password}
              onInput={(e) => setPassword(e.currentTarget.value)}
            />
          </>
        ) : (
          <>
            <label for="key">API key</label>
            <input
              id="key"
              type="password"
              autoComplete="off"
              required
              value={key}
              onInput={(e) => setKey(e.currentTarget.value)}
            />
          </>
        )}
        <ErrorNote error={action.error} />
        <button type="submit" class="primary" disabled={action.busy}>
          Sign in
        </button>
      </form>
    </main>
  )
}
