// eslint for src/, test/ and bench/ (make lint). Small on purpose: the
// recommended sets catch real mistakes; the rules below are the ones added or
// changed, each with its reason. Formatting is not linted.
import js from '@eslint/js';
import globals from 'globals';
import tseslint from 'typescript-eslint';

export default tseslint.config(
  { ignores: ['dist/', 'build/', 'node_modules/', 'native/build/'] },
  js.configs.recommended,
  {
    files: ['src/**/*.ts', 'test/**/*.ts'],
    extends: [tseslint.configs.recommended],
    rules: {
      // `_`-prefixed names are deliberate (padding fields, unused parameters
      // a signature needs); anything else unused is a leftover.
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_', caughtErrors: 'none' }],
      // Codecs compile their encode/decode with new Function (src/bpf/codec.ts):
      // the Function type is what they are.
      '@typescript-eslint/no-unsafe-function-type': 'off',
    },
  },
  {
    files: ['src/**/*.ts', 'test/**/*.ts', 'bench/**/*.mjs', 'scripts/**/*.mjs'],
    languageOptions: { globals: { ...globals.node } },
    rules: {
      // == coerces: a wrong-typed value from a map or a config file would
      // compare equal by accident. `== null` (null or undefined) stays allowed.
      eqeqeq: ['error', 'always', { null: 'ignore' }],
      // A binding that is never reassigned says so (a closure may read one
      // assigned later: that stays `let`).
      'prefer-const': ['error', { ignoreReadBeforeAssign: true }],
      // Empty catch blocks hide failures; one with a comment says why it may.
      'no-empty': ['error', { allowEmptyCatch: false }],
    },
  },
);
