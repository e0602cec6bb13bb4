// Every public function the namespace object carries is also a named export
// of the package entry (`import * as torch` sees it), and vice versa.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as torch from '../../dist/index.js';

test('every public name of the torch namespace is a named export', () => {
  const named = new Set(Object.keys(torch));
  const missing = Object.keys(torch.default).filter((k) => !k.startsWith('_') && !named.has(k));
  assert.deepEqual(missing, [], `not exported: ${missing.join(', ')}`);
});

test('the default export carries every named export (import torch from ... works like import * as torch)', () => {
  const missing = Object.keys(torch).filter((k) => k !== 'default' && !(k in torch.default));
  assert.deepEqual(missing, [], `not on the default export: ${missing.join(', ')}`);
  assert.equal(torch.default.setNumThreads, torch.setNumThreads);
  assert.equal(torch.default.version, torch.version);
});

test('named exports are defined', () => {
  for (const [k, v] of Object.entries(torch)) assert.notEqual(v, undefined, `export ${k} is undefined`);
});
