/**
 * The SDK's own MCP client, connected to portwatch's server either over a real stdio
 * transport to the built CLI (`node dist/cli/main.js mcp`), or in this process through the
 * SDK's in-memory transport. Every client and server made here is closed by closeMcp().
 */
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js';
import { InMemoryTransport } from '@modelcontextprotocol/sdk/inMemory.js';
import { expect } from 'vitest';
import { createPortwatchMcpServer, type PortwatchMcp, type PortwatchMcpOptions } from '../../src/mcp/server.js';
import { createRules } from '../../src/rules/rules.js';
import { CLI } from './cli.js';

const clients: Client[] = [];
const servers: PortwatchMcp[] = [];

export async function closeMcp(): Promise<void> {
  await Promise.all(clients.splice(0).map((c) => c.close()));
  await Promise.all(servers.splice(0).map((s) => s.close()));
}

function stringEnv(): Record<string, string> {
  return Object.fromEntries(Object.entries(process.env).filter((e): e is [string, string] => e[1] !== undefined));
}

/** To `node dist/cli/main.js mcp --interval 50ms ARGS`, as an MCP client configuration would start it. */
export async function connectStdio(args: string[] = [], cwd?: string): Promise<Client> {
  const transport = new StdioClientTransport({
    command: process.execPath,
    args: [CLI, 'mcp', '--interval', '50ms', ...args],
    env: stringEnv(),
    stderr: 'inherit',
    ...(cwd ? { cwd } : {}),
  });
  const client = new Client({ name: 'portwatch-test', version: '1.0.0' });
  await client.connect(transport);
  clients.push(client);
  await client.listTools(); // as clients do: from now on the client checks results against the published output schemas
  return client;
}

/** To a server in this process (no config file: the default rules). */
export async function connectInMemory(options: Partial<PortwatchMcpOptions> = {}): Promise<{ client: Client; mcp: PortwatchMcp }> {
  const mcp = createPortwatchMcpServer({ rules: createRules(), version: '0.0.0-test', interval: 50, ...options });
  servers.push(mcp);
  const [clientSide, serverSide] = InMemoryTransport.createLinkedPair();
  await mcp.server.connect(serverSide);
  const client = new Client({ name: 'portwatch-test', version: '1.0.0' });
  await client.connect(clientSide);
  clients.push(client);
  await client.listTools(); // as clients do: from now on the client checks results against the published output schemas
  return { client, mcp };
}

export type Structured = Record<string, unknown>;

export interface ListenerJson {
  protocol: string;
  address: string;
  port: number;
  label: string | null;
  ignored?: string | null;
  process: { pid: number; name: string; command: string; command_length?: number; cwd?: string | null } | null;
}

/** The text part of a tool result. */
export function textOf(result: unknown): string {
  return ((result as { content: { type: string; text: string }[] }).content ?? []).map((c) => c.text).join('\n');
}

/** Calls a tool that must succeed; returns its structured content. */
export async function call(client: Client, name: string, args: Record<string, unknown>): Promise<Structured> {
  const r = await client.callTool({ name, arguments: args });
  expect(r.isError ?? false, textOf(r)).toBe(false);
  expect(r.structuredContent).toBeTypeOf('object');
  return r.structuredContent as Structured;
}

/** Calls a tool that must fail; returns the error text the model reads. */
export async function callError(client: Client, name: string, args: Record<string, unknown>): Promise<string> {
  const r = await client.callTool({ name, arguments: args });
  expect(r.isError, JSON.stringify(r.structuredContent)).toBe(true);
  return textOf(r);
}
