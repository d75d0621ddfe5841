/**
 * The dashboard's shell: who is signed in, the navigation, and which view the address's hash
 * names (`#/spaces/NAME`, `#/apps/NAME`, `#/teams`). Hash routes keep every page at `GET /`,
 * so the dashboard never claims a path the Platform API might use.
 */
import { render } from 'preact'
import { useEffect, useState } from 'preact/hooks'
import { api, setCsrfToken, whenSignedOut } from './api.js'
import { startLive, stopLive } from './live.js'
import { AppPage } from './pages/app.js'
import { AppsPage } from './pages/apps.js'
import { SignIn, type SessionJson } from './pages/sign-in.js'
import { SpacePage } from './pages/space.js'
import { SpacesPage } from './pages/spaces.js'
import { TeamsPage } from './pages/teams.js'
import type { Account } from './types.js'
import './style.css'

function useHashRoute(): string[] {
  const parse = () =>
    location.hash
      .replace(/^#\/?/, '')
      .split('/')
      .filter((s) => s !== '')
      .map(decodeURIComponent)
  const [route, setRoute] = useState(parse)
  useEffect(() => {
    const on = () => setRoute(parse())
    addEventListener('hashchange', on)
    return () => removeEventListener('hashchange', on)
  }, [])
  return route
}

function View({ route, email }: { route: string[]; email: string }) {
  const [section, name] = route
  if (section === 'spaces' && name) return <SpacePage name={name} email={email} />
  if (section === 'apps' && name) return <AppPage name={name} />
  if (section === 'apps') return <AppsPage />
  if (section === 'teams') return <TeamsPage />
  return <SpacesPage />
}

function Shell() {
  const [account, setAccount] = useState<Account | null | undefined>(undefined)
  const route = useHashRoute()

  const signedIn = (s: SessionJson) => {
    setCsrfToken(s.csrf_token)
    setAccount(s.account)
    startLive()
  }
  useEffect(() => {
    whenSignedOut(() => {
      stopLive()
      setAccount(null)
    })
    api<SessionJson>('GET', '/localspace/session').then(signedIn, () => setAccount(null))
  }, [])
  useEffect(() => {
    // Each view names itself; focus moves to it so keyboard and screen-reader users follow.
    document.getElementById('main')?.focus()
  }, [route.join('/')])

  if (account === undefined) return null
  if (account === null) return <SignIn onSignedIn={signedIn} />

  const signOut = async () => {
    await api('DELETE', '/localspace/session').catch(() => undefined)
    stopLive()
    setCsrfToken('')
    setAccount(null)
  }
  const current = route[0] ?? 'spaces'
  const link = (to: string, label: string) => (
    <a href={`#/${to}`} aria-current={current === to ? 'page' : undefined}>
      {label}
    </a>
  )
  return (
    <>
      <a
        class="skip"
        href="#main"
        onClick={(e) => (e.preventDefault(), document.getElementById('main')?.focus())}
      >
        Skip to content
      </a>
      <header class="top">
        <span class="brand">localspace</span>
        <nav aria-label="Main">
          {link('spaces', 'Spaces')}
          {link('apps', 'Apps')}
          {link('teams', 'Teams')}
        </nav>
        <span class="who">
          <span class="muted">{account.email}</span>
          <button type="button" onClick={() => void signOut()}>
            Sign out
          </button>
        </span>
      </header>
      <main id="main" tabIndex={-1}>
        <View route={route} email={account.email} />
      </main>
    </>
  )
}

render(<Shell />, document.getElementById('root')!)
