export { createPortwatchMcpServer, MAX_WAIT_MS, MAX_EVENT_WAIT_MS } from './server.js';
export type { PortwatchMcp, PortwatchMcpOptions } from './server.js';
export type { McpScanOptions } from './engine.js';
export { EventLog } from './event-log.js';
export type { ReadResult } from './event-log.js';
export { LISTENERS_URI } from './listeners-resource.js';
export { BoundedStdioServerTransport, MAX_LINE_BYTES } from './stdio-transport.js';
export type { BoundedStdioOptions } from './stdio-transport.js';
