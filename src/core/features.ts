import { stableId } from './ids.js'

export interface FeatureDefinition {
  id: string
  name: string
  description: string
  docUrl: string
  enabledByDefault: boolean
  state: 'public' | 'beta' | 'alpha' | 'general'
  displayName: string
}

// Only features localspace really implements are listed; enabling one changes behaviour.
export const APP_FEATURES: readonly FeatureDefinition[] = [
  {
    id: stableId('feature', 'spaces-dns-discovery'),
    name: 'spaces-dns-discovery',
    description: 'Enable DNS service discovery',
    docUrl: 'https://devcenter.heroku.com/articles/dyno-dns-service-discovery',
    enabledByDefault: true,
    state: 'general',
    displayName: 'DNS service discovery in Private Spaces',
  },
]

export const findFeature = (idOrName: string): FeatureDefinition | undefined =>
  APP_FEATURES.find((f) => f.name === idOrName || f.id === idOrName)
