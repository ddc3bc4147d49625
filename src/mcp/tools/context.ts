/** What every tool is given, and the shape of what each returns. */
import type { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import type { LabelledPortEvent } from '../../rules/labelled.js';
import type { Rules } from '../../rules/rules.js';
import type { McpEngine } from '../engine.js';
import type { EventLog } from '../event-log.js';

export interface ToolContext {
  server: McpServer;
  engine: McpEngine;
  rules: Rules;
  events: EventLog<LabelledPortEvent>;
  /** How often wait_for_port looks while it waits (ms). */
  pollMs: number;
}

export const READ_ONLY = { readOnlyHint: true, destructiveHint: false, idempotentHint: true, openWorldHint: false } as const;

/**
 * Structured content for clients that read it, and a short text for those that show the
 * model only text: a summary, not the same JSON again.
 */
export function toolResult<T extends Record<string, unknown>>(structured: T, text: string) {
  return { structuredContent: structured, content: [{ type: 'text' as const, text }] };
}
