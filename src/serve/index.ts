/** `portwatch serve` as a library: the server factory and what it speaks. */
export { createServeServer, checkExposure, ServeServer } from './server.js';
export type { ServeServerOptions, ServeAddress, ServeLogger, ProbeSettings } from './server.js';
export type { ListenerView, LabeledListener, EventJson, HttpInfo, HttpKind, LabelFn } from './listener-table.js';
export type { HealthReport } from './api.js';
export { parseListenAddress, isLoopbackHost, DEFAULT_SERVE_HOST, DEFAULT_SERVE_PORT } from './listen-address.js';
export type { ListenAddress } from './listen-address.js';
export { probeHttp } from './http-probe.js';
export type { ProbeOptions } from './http-probe.js';
