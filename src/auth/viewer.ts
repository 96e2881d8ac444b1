import type { User } from '../generated/prisma/client.js';
import type { Role } from '../generated/prisma/enums.js';

/** Who is calling, once their credential has been verified. */
export interface Viewer {
  userId: string;
  role: Role;
  /** The user row read while verifying the credential; saves `me` a second query. */
  user: User;
  /** How they proved it: audit records and logs say which credential was used. */
  credential: { kind: 'api-key'; apiKeyId: string } | { kind: 'token' } | { kind: 'external-token'; issuer: string };
}

export const isAdminViewer = (viewer: Viewer | null): boolean => viewer?.role === 'ADMIN';
