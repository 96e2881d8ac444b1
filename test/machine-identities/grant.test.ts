import { describe, expect, it } from 'vitest';
import { addressAllowed, machineMay, parseCidr, type MachineViewer } from '../../src/auth/index.js';

const PROJECT = '6f1c2d9e-1111-4a4a-8b8b-000000000001';
const viewer: MachineViewer = {
  kind: 'machine',
  identityId: 'i',
  name: 'deployer',
  projectId: PROJECT,
  environments: ['production'],
  permissions: ['SECRETS_READ'],
  allowedCidrs: [],
  credential: { kind: 'api-key', apiKeyId: 'k' },
};

describe('machineMay', () => {
  it('grants its permission in its project and environments, case-insensitively on the project id', () => {
    expect(machineMay(viewer, 'SECRETS_READ', PROJECT, 'production')).toBe(true);
    expect(machineMay(viewer, 'SECRETS_READ', PROJECT.toUpperCase(), 'production')).toBe(true);
    expect(machineMay(viewer, 'SECRETS_READ', PROJECT)).toBe(true);
  });

  it('refuses, FORBIDDEN, another permission, project or environment, and a missing one', () => {
    const refusals = [
      machineMay(viewer, 'SECRETS_WRITE', PROJECT, 'production'),
      machineMay(viewer, 'SECRETS_READ', '6f1c2d9e-1111-4a4a-8b8b-000000000002', 'production'),
      machineMay(viewer, 'SECRETS_READ', null, 'production'),
      machineMay(viewer, 'SECRETS_READ', PROJECT, 'staging'),
      machineMay(viewer, 'SECRETS_READ', PROJECT, null),
    ];
    for (const refusal of refusals) expect(refusal).toMatchObject({ code: 'FORBIDDEN' });
  });
});

describe('address ranges', () => {
  it('parses IPv4 and IPv6 CIDR ranges and nothing else', () => {
    expect(parseCidr('10.0.0.0/8')).toEqual({ network: '10.0.0.0', prefix: 8, family: 'ipv4' });
    expect(parseCidr('2001:db8::/32')).toMatchObject({ prefix: 32, family: 'ipv6' });
    for (const bad of ['10.0.0.0', '10.0.0.0/33', '::/129', 'example.com/8', '10.0.0/8', '10.0.0.0/-1', ''])
      expect(parseCidr(bad), bad).toBeNull();
  });

  it('matches addresses, IPv4-mapped IPv6 included; an empty list allows all, an unknown address none', () => {
    expect(addressAllowed([], null)).toBe(true);
    expect(addressAllowed(['127.0.0.0/8'], '127.0.0.1')).toBe(true);
    expect(addressAllowed(['127.0.0.0/8'], '::ffff:127.0.0.1')).toBe(true);
    expect(addressAllowed(['127.0.0.0/8'], '128.0.0.1')).toBe(false);
    expect(addressAllowed(['10.0.0.0/8', '::1/128'], '::1')).toBe(true);
    expect(addressAllowed(['10.0.0.0/8'], null)).toBe(false);
    expect(addressAllowed(['10.0.0.0/8'], 'not-an-address')).toBe(false);
  });
});
