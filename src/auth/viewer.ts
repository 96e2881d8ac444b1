import type { Role } from '../generated/prisma/enums.js';

/** Who is calling, once their credential has been verified. */
export interface Viewer {
  userId: string;
  role: Role;
  /** How they proved it: audit records and logs say which credential was used. */
  credential: { kind: 'api-key'; apiKeyId: string } | { kind: 'token' } | { kind: 'external-token'; issuer: string };
}

export const isAdminViewer = (viewer: Viewer | null): boolean => viewer?.role === 'ADMIN';
