import { BlockList, isIP } from 'node:net';
import { forbidden, type CofferError } from '../errors.js';
import type { MachineIdentityPermission } from '../generated/prisma/enums.js';
import type { MachineViewer, Viewer } from './viewer.js';

/**
 * What a machine identity may do, decided from its grant alone (no database read): its project,
 * its environments, its permissions. Every refusal is FORBIDDEN whether or not the project or
 * environment exists, so a machine learns nothing by probing. Rules call it for machine viewers
 * and keep their own checks for users.
 */
export function machineMay(
  viewer: MachineViewer,
  permission: MachineIdentityPermission,
  projectId: string | null | undefined,
  environment?: string | null,
): true | CofferError {
  if (!viewer.permissions.includes(permission)) return forbidden(`This machine identity lacks the ${permission} permission.`);
  if (!projectId || projectId.toLowerCase() !== viewer.projectId) return forbidden('This machine identity belongs to another project.');
  if (environment !== undefined && (environment === null || !viewer.environments.includes(environment)))
    return forbidden(`This machine identity may not reach the environment ${environment ?? '(none)'}.`);
  return true;
}

/** The same as a boolean, for filters (node(id:), lists). */
export const machineCan = (
  viewer: Viewer | null | undefined,
  permission: MachineIdentityPermission,
  projectId: string,
  environment?: string | null,
): boolean => viewer?.kind === 'machine' && machineMay(viewer, permission, projectId, environment) === true;

/** `a.b.c.d/n` or `x:y::z/n`, in canonical form; null when it is not a CIDR range. */
export function parseCidr(text: string): { network: string; prefix: number; family: 'ipv4' | 'ipv6' } | null {
  const match = /^([^/\s]+)\/(\d{1,3})$/.exec(text.trim());
  if (!match) return null;
  const network = match[1] as string;
  const version = isIP(network);
  const prefix = Number(match[2]);
  if (version === 0 || prefix > (version === 4 ? 32 : 128)) return null;
  return { network, prefix, family: version === 4 ? 'ipv4' : 'ipv6' };
}

/** An IPv4 client seen through an IPv6 socket (`::ffff:10.0.0.1`) is matched as IPv4. */
function normalizeAddress(address: string): { address: string; family: 'ipv4' | 'ipv6' } | null {
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(address);
  const plain = mapped ? (mapped[1] as string) : address;
  const version = isIP(plain);
  return version === 0 ? null : { address: plain, family: version === 4 ? 'ipv4' : 'ipv6' };
}

/**
 * Whether `clientAddress` lies in one of `cidrs` (node:net's BlockList does the matching). An
 * empty list allows every address; an unknown address is allowed by none.
 */
export function addressAllowed(cidrs: readonly string[], clientAddress: string | null): boolean {
  if (cidrs.length === 0) return true;
  const client = clientAddress ? normalizeAddress(clientAddress) : null;
  if (!client) return false;
  const list = new BlockList();
  for (const cidr of cidrs) {
    const parsed = parseCidr(cidr);
    if (parsed) list.addSubnet(parsed.network, parsed.prefix, parsed.family);
  }
  return list.check(client.address, client.family);
}
