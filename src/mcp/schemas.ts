/**
 * The JSON shapes the MCP tools take and return (zod, turned into JSON Schema by the SDK).
 * Factories, not shared instances: a schema object used twice becomes a JSON `$ref`,
 * which some MCP clients do not resolve.
 */
import { z } from 'zod';

export const port = () => z.number().int().min(1).max(65535);

export const processSchema = () =>
  z.object({
    pid: z.number().int(),
    ppid: z.number().int().nullable(),
    name: z.string().describe('the kernel short name (/proc/PID/comm)'),
    command: z.string().describe('command line; cut at 200 characters (ending in …) unless full_command is true'),
    command_length: z.number().int().optional().describe('only when command was cut: the length of the whole command line'),
    uid: z.number().int().nullable(),
  });

const listenerFields = () => ({
  protocol: z.enum(['tcp', 'udp']),
  family: z.union([z.literal(4), z.literal(6)]),
  address: z.string().describe('canonical local address: 127.0.0.1, ::1, 0.0.0.0, :: …'),
  port: port(),
  dualStack: z.boolean().nullable(),
  interface: z.string().nullable().describe('the device the socket is bound to (lo, eth0, if<index>); null when none or unknown'),
  inode: z.number().int(),
  uid: z.number().int(),
  netns: z.string().nullable(),
  process: processSchema()
    .nullable()
    .describe('the owning process (of a pre-forked server: the master); null when it cannot be known (never guessed)'),
  holders: z
    .array(z.object({ pid: z.number().int(), name: z.string() }))
    .optional()
    .describe('every process holding the socket (a master and its workers), owner included; [] when unknown'),
  container: z
    .object({
      id: z.string(),
      name: z.string().nullable(),
      runtime: z.string(),
      image: z.string().nullable(),
      pod: z.string().nullable(),
      namespace: z.string().nullable(),
    })
    .nullable()
    .optional()
    .describe('the container the socket lives in (host mode), or null'),
  label: z
    .string()
    .nullable()
    .describe('what the port is called: by the config (portwatch.json / devcontainer.json), else a default name for well-known servers'),
});

export const listenerSchema = () => z.object(listenerFields());

export const listedListenerSchema = () =>
  z.object({
    ...listenerFields(),
    ignored: z.string().nullable().optional().describe('with include_ignored: why the rules would hide it, or null'),
  });

export const ownedListenerSchema = () =>
  z.object({
    ...listenerFields(),
    process: processSchema()
      .extend({
        command: z.string().describe('the whole command line (as the kernel keeps it, up to 4 KiB)'),
        cwd: z.string().nullable().describe("the process's working directory, when readable"),
      })
      .nullable(),
    ignored: z.string().nullable().describe('why the rules hide this listener from lists and events, or null'),
  });

export const portEventSchema = () =>
  z.object({
    type: z.enum(['open', 'close']),
    time: z.string().describe('ISO 8601 time of the scan that saw the change'),
    listener: listenerSchema(),
  });
