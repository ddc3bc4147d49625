// @ts-check
import js from '@eslint/js';
import tseslint from 'typescript-eslint';

/**
 * Layers point one way: cli → features (serve, mcp, run, rules, forward) → engine (scan,
 * watch, wait, triggers) → sources, owners and containers → parse. A module may import its own layer and the
 * ones below, never one above; nothing outside src/cli imports src/cli.
 */
const FEATURES = ['serve', 'mcp', 'run', 'rules', 'forward'];
const ENGINE = ['scan', 'watch', 'wait', 'triggers', 'engine'];
const SOURCES = ['sources', 'owners', 'containers', 'proc'];
function layerRule(files, above) {
  return {
    files,
    rules: {
      'no-restricted-imports': [
        'error',
        {
          patterns: [
            {
              regex: `^(\\.\\./)+(${above.join('|')})(/|\\.js$)`,
              message:
                'layers point one way: cli → features (serve, mcp, run, rules) → engine → sources/owners → parse (see docs/architecture.md)',
            },
          ],
        },
      ],
    },
  };
}

export default tseslint.config(
  { ignores: ['dist/', 'native/build/', 'node_modules/', 'test-output/'] },
  js.configs.recommended,
  ...tseslint.configs.strict,
  {
    languageOptions: {
      globals: {
        process: 'readonly',
        console: 'readonly',
        Buffer: 'readonly',
        URL: 'readonly',
        setTimeout: 'readonly',
        clearTimeout: 'readonly',
        setImmediate: 'readonly',
        AbortController: 'readonly',
      },
    },
    rules: {
      '@typescript-eslint/no-unused-vars': [
        'error',
        { argsIgnorePattern: '^_', varsIgnorePattern: '^_', destructuredArrayIgnorePattern: '^_' },
      ],
      '@typescript-eslint/no-non-null-assertion': 'off',
    },
  },
  layerRule(['src/parse/**/*.ts'], ['cli', ...FEATURES, ...ENGINE, ...SOURCES]),
  layerRule(['src/sources/**/*.ts', 'src/owners/**/*.ts', 'src/containers/**/*.ts', 'src/proc/**/*.ts'], ['cli', ...FEATURES, ...ENGINE]),
  layerRule(['src/watch/**/*.ts', 'src/triggers/**/*.ts', 'src/engine/**/*.ts', 'src/scan.ts', 'src/wait.ts'], ['cli', ...FEATURES]),
  layerRule(['src/serve/**/*.ts', 'src/mcp/**/*.ts', 'src/run/**/*.ts', 'src/rules/**/*.ts', 'src/forward/**/*.ts'], ['cli']),
  layerRule(
    ['src/text/**/*.ts', 'src/ports.ts', 'src/listener.ts', 'src/errors.ts', 'src/types.ts'],
    ['cli', ...FEATURES, ...ENGINE, ...SOURCES],
  ),
);
