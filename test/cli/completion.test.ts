/**
 * `portwatch completion bash|zsh|fish`: scripts generated from the program, tried in the
 * real shells. bash is required; zsh and fish are tried where installed.
 */
import { spawnSync } from 'node:child_process';
import { chmodSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CLI, runCli } from '../helpers/cli.js';
import { holdSockets, stopAll } from '../helpers/processes.js';

let dir = '';
let bin = '';
const scripts: Record<string, string> = {};

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'portwatch-completion-'));
  bin = join(dir, 'bin');
  // `portwatch` on PATH, as after `npm install -g`: the scripts call it for live ports.
  mkdirSync(bin);
  writeFileSync(join(bin, 'portwatch'), `#!/bin/sh\nexec "${process.execPath}" "${CLI}" "$@"\n`);
  chmodSync(join(bin, 'portwatch'), 0o755);
  for (const shell of ['bash', 'zsh', 'fish']) {
    const r = await runCli(['completion', shell]);
    expect(r.code, r.stderr).toBe(0);
    scripts[shell] = join(dir, `portwatch.${shell}`);
    writeFileSync(scripts[shell] as string, r.stdout);
  }
});

afterAll(async () => {
  await stopAll();
  rmSync(dir, { recursive: true, force: true });
});

const env = (): NodeJS.ProcessEnv => ({ ...process.env, PATH: `${bin}:${process.env.PATH ?? ''}` });

function has(shell: string): boolean {
  return spawnSync(shell, ['-c', 'exit 0']).status === 0;
}

/** What bash completes for the words typed (the last one is being completed), through the script's function. */
function bashComplete(words: string[]): string[] {
  const line = words.map((w) => `'${w.replace(/'/g, `'\\''`)}'`).join(' ');
  const r = spawnSync(
    'bash',
    [
      '-c',
      `source "$1"; COMP_WORDS=(${line}); COMP_CWORD=${words.length - 1}; _portwatch; printf '%s\\n' "\${COMPREPLY[@]}"`,
      'bash',
      scripts.bash as string,
    ],
    { encoding: 'utf8', env: env(), timeout: 20_000 },
  );
  expect(r.stderr).toBe('');
  return r.stdout.split('\n').filter((l) => l !== '');
}

/** Command names (and aliases) as `portwatch --help` lists them. */
async function helpCommands(): Promise<string[]> {
  const help = (await runCli(['--help'])).stdout;
  const section = help.slice(help.indexOf('Commands:'));
  return [...section.matchAll(/^ {2}(\S+)/gm)].flatMap((m) => (m[1] as string).split('|')).sort();
}

/** Long options as `portwatch COMMAND --help` lists them. */
async function helpOptions(command: string): Promise<string[]> {
  const help = (await runCli([command, '--help'])).stdout;
  return [...help.matchAll(/^ {2}(?:-\w, )?(--[\w-]+)/gm)].map((m) => m[1] as string).sort();
}

describe('portwatch completion bash', () => {
  it('is accepted by bash -n and registers itself for portwatch', () => {
    const syntax = spawnSync('bash', ['-n', scripts.bash as string], { encoding: 'utf8' });
    expect(syntax.status, syntax.stderr).toBe(0);
    const registered = spawnSync('bash', ['-c', 'source "$1"; complete -p portwatch', 'bash', scripts.bash as string], {
      encoding: 'utf8',
    });
    expect(registered.stdout.trim()).toBe('complete -F _portwatch portwatch');
  });

  it('completes `portwatch li<TAB>` to list, and offers every command the program has', async () => {
    expect(bashComplete(['portwatch', 'li'])).toEqual(['list']);
    expect(bashComplete(['portwatch', 'k'])).toEqual(['kill']);
    expect(bashComplete(['portwatch', '']).sort()).toEqual(await helpCommands());
  });

  it("offers each command's options as its --help lists them, and the choices of an option's value", async () => {
    for (const command of ['list', 'wait', 'kill']) {
      const offered = bashComplete(['portwatch', command, '--']).sort();
      expect(offered, command).toEqual(await helpOptions(command));
    }
    expect(bashComplete(['portwatch', 'kill', '--dr'])).toEqual(['--dry-run']);
    expect(bashComplete(['portwatch', 'list', '--source', ''])).toEqual(['auto', 'sockdiag', 'procfs', 'ss']);
    expect(bashComplete(['portwatch', '--color', 'al'])).toEqual(['always']);
    expect(bashComplete(['portwatch', 'kill', '--signal', 'KI'])).toEqual(['KILL']);
    expect(bashComplete(['portwatch', 'completion', ''])).toEqual(['bash', 'zsh', 'fish']);
    // Options of the default command (watch) before any command is named; an option's value is not taken for a command.
    expect(bashComplete(['portwatch', '--ba'])).toEqual(['--batch']);
    expect(bashComplete(['portwatch', '--source', 'ss', '--js'])).toEqual(['--json']);
  });

  it('completes ports that listen now for wait, kill and --port, after commas too', async () => {
    const holder = await holdSockets([
      { proto: 'tcp', host: '127.0.0.1' },
      { proto: 'udp', host: '::1' },
    ]);
    const [tcp, udp] = holder.ports as [number, number];
    for (const words of [
      ['portwatch', 'wait', String(tcp).slice(0, 3)],
      ['portwatch', 'kill', String(tcp).slice(0, 3)],
      ['portwatch', 'list', '--port', String(tcp).slice(0, 3)],
    ]) {
      expect(bashComplete(words), words.join(' ')).toContain(String(tcp));
    }
    expect(bashComplete(['portwatch', 'kill', '--udp', String(udp)])).toEqual([String(udp)]);
    expect(bashComplete(['portwatch', 'kill', `${tcp},${String(udp).slice(0, 3)}`])).toContain(`${tcp},${udp}`);
    expect(bashComplete(['portwatch', 'kill', `${tcp},${String(tcp).slice(0, 3)}`])).not.toContain(`${tcp},${tcp}`);
    await holder.stop();
  });

  it('refuses a shell it does not know: one line, exit 2', async () => {
    const r = await runCli(['completion', 'powershell']);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/^portwatch: .*'powershell' is invalid.*bash, zsh, fish/);
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
  });
});

describe('portwatch completion zsh', () => {
  const reason = 'zsh is not installed here';
  it('is accepted by zsh -n, and completes `portwatch li<TAB>` to list in an interactive zsh', async (ctx) => {
    if (!has('zsh')) {
      if (process.env.PORTWATCH_REQUIRE_SHELLS) throw new Error(reason);
      return ctx.skip(reason);
    }
    const syntax = spawnSync('zsh', ['-n', scripts.zsh as string], { encoding: 'utf8' });
    expect(syntax.status, syntax.stderr).toBe(0);
    // A real completion in a pseudo-terminal (zpty): each match is printed as compadd adds it, then DONE.
    const capture = join(dir, 'capture.zsh');
    writeFileSync(
      capture,
      `zmodload zsh/zpty
zpty z zsh -f -i
zpty -w z "PROMPT='' RPROMPT=''; autoload -U compinit; compinit -u -D; source ${scripts.zsh}"
zpty -w z 'compadd() { local -a m; builtin compadd -O m "$@"; builtin compadd "$@"; print -rl -- \${m/#/MATCH:} > /dev/tty }'
zpty -w z '_done() { print -r -- COMPLETION-DONE > /dev/tty }; comppostfuncs=(_done)'
zpty -w z 'print SET-UP'
zpty -r z line '*SET-UP*'
zpty -r z line '*SET-UP*'
zpty -w -n z "$1"$'\\t'
out=''
for i in {1..100}; do
  zpty -r -t z chunk && out+=$chunk
  [[ $out == *COMPLETION-DONE* ]] && break
  sleep 0.1
done
print -r -- $out | tr -d '\\r' | sed -n 's/.*MATCH://p' | sort -u
zpty -d z
`,
    );
    const complete = (line: string): string[] => {
      const r = spawnSync('zsh', ['-f', capture, line], { encoding: 'utf8', env: env(), timeout: 30_000 });
      return r.stdout.split('\n').filter((l) => l !== '');
    };
    expect(complete('portwatch li')).toEqual(['list']);
    expect(complete('portwatch list --sour')).toEqual(['--source']);
    expect(complete('portwatch completion ')).toEqual(['bash', 'fish', 'zsh']);
  });
});

describe('portwatch completion fish', () => {
  const reason = 'fish is not installed here';
  it('is accepted by fish -n, and completes `portwatch li<TAB>` to list', (ctx) => {
    if (!has('fish')) {
      if (process.env.PORTWATCH_REQUIRE_SHELLS) throw new Error(reason);
      return ctx.skip(reason);
    }
    const syntax = spawnSync('fish', ['-n', scripts.fish as string], { encoding: 'utf8' });
    expect(syntax.status, syntax.stderr).toBe(0);
    const complete = (line: string): string[] => {
      const r = spawnSync('fish', ['-c', 'source $argv[1]; complete -C $argv[2]', scripts.fish as string, line], {
        encoding: 'utf8',
        env: env(),
        timeout: 30_000,
      });
      return r.stdout
        .split('\n')
        .filter((l) => l !== '')
        .map((l) => l.split('\t')[0] as string);
    };
    expect(complete('portwatch li')).toEqual(['list']);
    expect(complete('portwatch kill --dr')).toEqual(['--dry-run']);
    expect(complete('portwatch list --source ').sort()).toEqual(['auto', 'procfs', 'sockdiag', 'ss']);
  });
});
