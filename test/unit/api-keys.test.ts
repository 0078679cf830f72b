import { describe, expect, it } from 'vitest';
import { callerFor, formatApiKey, MalformedKeyList, parseApiKeys } from '../../lib/api/auth.js';

const bearer = (key: string) => `Bearer ${key}`;

describe('parseApiKeys', () => {
  it('reads unnamed and named keys, separated by commas or newlines', () => {
    const keys = parseApiKeys(
      ' acme:key-acme-0001 ,acme/release-manager:key-acme-rm01\nglobex/ci:key:with:colons\n',
    );
    expect(callerFor(keys, bearer('key-acme-0001'))).toEqual({ tenant: 'acme', identity: 'acme' });
    expect(callerFor(keys, bearer('key-acme-rm01'))).toEqual({
      tenant: 'acme',
      identity: 'release-manager',
    });
    expect(callerFor(keys, bearer('key:with:colons'))).toEqual({
      tenant: 'globex',
      identity: 'ci',
    });
    expect(callerFor(keys, bearer('key-acme-000'))).toBeUndefined();
    expect(callerFor(keys, 'key-acme-0001')).toBeUndefined();
    expect(callerFor(keys, undefined)).toBeUndefined();
  });

  it('parses an empty list to no keys', () => {
    expect(parseApiKeys(' ,\n ').size).toBe(0);
  });

  it.each([
    ['no colon', 'acme-key-without-colon', 'entry 1 is not `tenant[/name]:key`'],
    ['an empty tenant', ':long-enough-key', 'entry 1 is not `tenant[/name]:key`'],
    ['a bad tenant', 'a:ok-key-1,Acme:long-enough-key', 'entry 2: the tenant must match'],
    ['two slashes', 'acme/a/b:long-enough-key', 'entry 1: the tenant must match'],
    ['a bad name', 'acme/Release:long-enough-key', 'entry 1: the key name must match'],
    ['an empty name', 'acme/:long-enough-key', 'entry 1: the key name must match'],
    ['a short key', 'acme:short', 'entry 1: the key must be 8+ characters'],
    ['a key with a space', 'acme:long enough key', 'entry 1: the key must be 8+ characters'],
    [
      'one key for two identities',
      'acme:long-enough-key,globex:long-enough-key',
      'entry 2 reuses the key of another entry',
    ],
  ])('refuses %s, naming the entry but never its text', (_label, list, reason) => {
    let thrown: unknown;
    try {
      parseApiKeys(list);
    } catch (err) {
      thrown = err;
    }
    expect(thrown).toBeInstanceOf(MalformedKeyList);
    const message = (thrown as Error).message;
    expect(message.startsWith(reason)).toBe(true);
    for (const entry of list.split(',')) expect(message).not.toContain(entry.split(':').pop());
  });

  it('accepts the same entry twice', () => {
    expect(parseApiKeys('acme:long-enough-key,acme:long-enough-key').size).toBe(1);
  });
});

describe('formatApiKey', () => {
  it('writes entries the parser reads back', () => {
    const list = [
      formatApiKey({ tenant: 'acme', key: 'k-000000001' }),
      formatApiKey({ tenant: 'acme', name: 'dev', key: 'k-000000002' }),
    ].join(',');
    expect(list).toBe('acme:k-000000001,acme/dev:k-000000002');
    expect(callerFor(parseApiKeys(list), bearer('k-000000002'))).toEqual({
      tenant: 'acme',
      identity: 'dev',
    });
  });

  it.each([
    [{ tenant: 'Acme', key: 'k-000000001' }],
    [{ tenant: 'acme', name: 'a/b', key: 'k-000000001' }],
    [{ tenant: 'acme', key: 'short' }],
    [{ tenant: 'acme', key: 'has,comma' }],
  ])('refuses %j', (entry) => {
    expect(() => formatApiKey(entry)).toThrow(MalformedKeyList);
  });
});
