import { stableId } from './ids.js'

export interface Region {
  id: string
  name: string
  description: string
  country: string
  locale: string
  privateCapable: boolean
  providerRegion: string
}

// Heroku's Private Space regions (docs/heroku-reference.md §2.6), plus the two Common Runtime
// regions that apps outside a space get. On one host a region is a placement label.
const TABLE: ReadonlyArray<[string, string, string, string, boolean, string]> = [
  ['dublin', 'Dublin, Ireland', 'Ireland', 'Dublin', true, 'eu-west-1'],
  ['frankfurt', 'Frankfurt, Germany', 'Germany', 'Frankfurt', true, 'eu-central-1'],
  ['london', 'London, United Kingdom', 'United Kingdom', 'London', true, 'eu-west-2'],
  ['montreal', 'Montreal, Canada', 'Canada', 'Montreal', true, 'ca-central-1'],
  ['mumbai', 'Mumbai, India', 'India', 'Mumbai', true, 'ap-south-1'],
  ['oregon', 'Oregon, United States', 'United States', 'Oregon', true, 'us-west-2'],
  ['singapore', 'Singapore', 'Singapore', 'Singapore', true, 'ap-southeast-1'],
  ['sydney', 'Sydney, Australia', 'Australia', 'Sydney', true, 'ap-southeast-2'],
  ['tokyo', 'Tokyo, Japan', 'Japan', 'Tokyo', true, 'ap-northeast-1'],
  ['virginia', 'Virginia, United States', 'United States', 'Virginia', true, 'us-east-1'],
  ['eu', 'Europe', 'Ireland', 'Dublin', false, 'eu-west-1'],
  ['us', 'United States', 'United States', 'Virginia', false, 'us-east-1'],
]

export const REGIONS: readonly Region[] = TABLE.map(
  ([name, description, country, locale, privateCapable, providerRegion]) => ({
    id: stableId('region', name),
    name,
    description,
    country,
    locale,
    privateCapable,
    providerRegion,
  }),
)

/** The region apps outside any space are placed in, as on Heroku. */
export const DEFAULT_APP_REGION = 'us'

export const findRegion = (idOrName: string): Region | undefined =>
  REGIONS.find((r) => r.name === idOrName || r.id === idOrName)
