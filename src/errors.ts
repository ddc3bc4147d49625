/** Error codes users and programs can rely on. */
export type PortwatchErrorCode =
  | 'EUSAGE'
  | 'ESOURCE_UNAVAILABLE'
  | 'ESCAN'
  | 'ENOPROCESS'
  | 'ETIMEOUT'
  | 'EABORTED'
  /** The container engine named (or found) has no such container. */
  | 'ENOCONTAINER'
  /** No Docker/Podman engine answers on its socket, or it answered something unusable. */
  | 'EENGINE';

/** Every error portwatch raises on purpose: a code, and a message that says what to do. */
export class PortwatchError extends Error {
  readonly code: PortwatchErrorCode;

  constructor(code: PortwatchErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'PortwatchError';
    this.code = code;
  }
}

export function isPortwatchError(e: unknown): e is PortwatchError {
  return e instanceof PortwatchError;
}
