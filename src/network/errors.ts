/** Typed failures of the network module, so callers can tell "someone else's object" apart. */

/**
 * A host object holds one of our names but is not what we would have made (CNI's
 * `%q already exists but is not a bridge`). localspace never touches it; an operator must.
 */
export class NetworkConflictError extends Error {
  constructor(
    /** The name of the object in the way. */
    readonly object: string,
    readonly reason: string,
  ) {
    super(`${object} already exists but ${reason}; localspace leaves it alone`)
    this.name = 'NetworkConflictError'
  }
}

/** Desired state the planner refuses to act on (names we do not own, malformed addresses). */
export class InvalidNetworkStateError extends Error {
  constructor(message: string) {
    super(message)
    this.name = 'InvalidNetworkStateError'
  }
}

/** A multi-step change failed; what it had made was rolled back (or `rollbackError` says why not). */
export class AttachError extends Error {
  constructor(
    message: string,
    readonly attachmentId: string,
    options: { cause: unknown; rollbackError?: unknown },
  ) {
    super(message, { cause: options.cause })
    this.name = 'AttachError'
    this.rollbackError = options.rollbackError
  }
  readonly rollbackError: unknown
}
