import { describe, expect, it } from 'vitest';
import { isHostAllowed, isPrivateAddress, normalizeHost } from '../../lib/steps/network.js';

describe('isPrivateAddress', () => {
  it.each([
    ['127.0.0.1', true],
    ['127.255.255.254', true],
    ['10.1.2.3', true],
    ['172.16.0.1', true],
    ['172.31.255.255', true],
    ['172.32.0.1', false],
    ['172.15.255.255', false],
    ['192.168.1.1', true],
    ['192.169.1.1', false],
    ['169.254.169.254', true],
    ['0.0.0.0', true],
    ['100.64.0.1', true],
    ['224.0.0.1', true],
    ['255.255.255.255', true],
    ['8.8.8.8', false],
    ['93.184.216.34', false],
    ['::1', true],
    ['::', true],
    ['fc00::1', true],
    ['fd00:ec2::254', true],
    ['fe80::1', true],
    ['fe80::1%eth0', true],
    ['febf::1', true],
    ['ff02::1', true],
    ['::ffff:127.0.0.1', true],
    ['::ffff:7f00:1', true],
    ['::ffff:10.0.0.1', true],
    ['::ffff:8.8.8.8', false],
    ['0:0:0:0:0:ffff:a9fe:a9fe', true],
    ['64:ff9b::10.0.0.1', true],
    ['64:ff9b::8.8.8.8', false],
    ['2002:c0a8:0101::1', true],
    ['2002:0808:0808::1', false],
    ['2001:4860:4860::8888', false],
    ['2606:4700:4700::1111', false],
    ['not-an-ip', true],
  ])('%s → private %s', (address, expected) => {
    expect(isPrivateAddress(address)).toBe(expected);
  });
});

describe('isHostAllowed', () => {
  it.each<[string, string[] | undefined, boolean]>([
    ['anything.example.com', undefined, true],
    ['api.example.com', [], false],
    ['api.example.com', ['api.example.com'], true],
    ['API.Example.com', ['api.example.com'], true],
    ['api.example.com.', ['api.example.com'], true],
    ['other.example.com', ['api.example.com'], false],
    ['a.example.org', ['*.example.org'], true],
    ['a.b.example.org', ['*.example.org'], true],
    ['example.org', ['*.example.org'], false],
    ['evilexample.org', ['*.example.org'], false],
    ['example.org.evil.com', ['*.example.org'], false],
    ['[::1]', ['::1'], true],
    ['127.0.0.1', ['localhost'], false],
  ])('%s with %j → %s', (host, allowed, expected) => {
    expect(isHostAllowed(host, allowed)).toBe(expected);
  });

  it('normalizes brackets, case and the trailing dot', () => {
    expect(normalizeHost('[FE80::1]')).toBe('fe80::1');
    expect(normalizeHost('Example.COM.')).toBe('example.com');
  });
});
