// Moved to core (the API allocates addresses too); kept while network code is written.
export * from '../core/address-plan.js'
