import { randomBytes, randomUUID } from 'node:crypto';
import { userIdOf, type Actor } from '../../auth/index.js';
import { storedOf } from '../../crypto/index.js';
import type { Database } from '../../db/database.js';
import { badInput, notFound } from '../../errors.js';
import type { NotificationDeliveryStatus } from '../../generated/prisma/enums.js';
import type { KeyringStore } from '../../keyring/index.js';
import { recordAudit } from '../audit/index.js';
import * as changesRepository from './secret-changes.repository.js';

export interface NotificationSettings {
  allowLocalHttp: boolean;
}

const MAX_URL_LENGTH = 2048;
const LOCAL_HOSTS = new Set(['127.0.0.1', 'localhost', '[::1]']);

/** HTTPS only; plain HTTP to this machine only when NOTIFICATION_ALLOW_LOCAL_HTTP says so (tests, development). */
function validateUrl(text: string, settings: NotificationSettings): URL {
  const problem = (message: string) => badInput([{ field: 'input.url', message }]);
  if (text.length > MAX_URL_LENGTH) throw problem(`must be at most ${MAX_URL_LENGTH} characters`);
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    throw problem('must be an absolute https:// URL');
  }
  const localHttp = url.protocol === 'http:' && LOCAL_HOSTS.has(url.hostname);
  if (url.protocol !== 'https:' && !(localHttp && settings.allowLocalHttp)) {
    throw problem(
      localHttp ? 'http:// is allowed only when NOTIFICATION_ALLOW_LOCAL_HTTP is set; use https://' : 'must be an https:// URL',
    );
  }
  if (url.username || url.password) throw problem('must not hold a user name or password');
  return url;
}

const auditEndpoint = (endpoint: { id: string; projectId: string }) => ({
  targetType: 'notification-endpoint',
  targetId: endpoint.id,
  scope: 'PROJECT' as const,
  scopeOwnerId: endpoint.projectId,
});

interface Acting {
  db: Database;
  actor: Actor;
  now: Date;
}

/** A new endpoint and its signing secret: the only time the secret is shown. */
export async function createEndpoint(
  { db, keyring, actor, now, settings }: Acting & { keyring: KeyringStore; settings: NotificationSettings },
  input: { projectId: string; url: string; description?: string | null },
) {
  const url = validateUrl(input.url, settings);
  const signingSecret = `whsec_${randomBytes(32).toString('base64url')}`;
  const endpoint = await keyring.retrying(() =>
    db.prisma.$transaction(async (tx) => {
      const id = randomUUID();
      const sealed = await keyring.seal(tx, signingSecret, changesRepository.endpointAad({ id, projectId: input.projectId }));
      const created = await changesRepository.insertEndpoint(tx, {
        id,
        projectId: input.projectId,
        url: url.href,
        description: input.description ?? null,
        ...storedOf(sealed),
        createdAt: now,
        createdById: userIdOf(actor.viewer),
      });
      await recordAudit(tx, actor, { action: 'notification-endpoint.create', outcome: 'SUCCESS', ...auditEndpoint(created) });
      return created;
    }),
  );
  return { endpoint, signingSecret };
}

export async function deleteEndpoint({ db, actor }: Omit<Acting, 'now'>, id: string) {
  return db.prisma.$transaction(async (tx) => {
    const endpoint = await changesRepository.findEndpoint(tx, id);
    if (!endpoint) throw notFound('Notification endpoint');
    await changesRepository.deleteEndpoint(tx, id);
    await recordAudit(tx, actor, { action: 'notification-endpoint.delete', outcome: 'SUCCESS', ...auditEndpoint(endpoint) });
    return endpoint;
  });
}

/** A disabled endpoint is sent nothing and queues nothing; enabling it again sends what is still pending. */
export async function setEndpointEnabled({ db, actor, now }: Acting, id: string, enabled: boolean) {
  return db.prisma.$transaction(async (tx) => {
    const endpoint = await changesRepository.findEndpoint(tx, id);
    if (!endpoint) throw notFound('Notification endpoint');
    if ((endpoint.disabledAt === null) === enabled) return endpoint;
    const updated = await changesRepository.setEndpointDisabled(tx, id, enabled ? null : now);
    const action = enabled ? 'notification-endpoint.enable' : 'notification-endpoint.disable';
    await recordAudit(tx, actor, { action, outcome: 'SUCCESS', ...auditEndpoint(endpoint) });
    return updated;
  });
}

export const listEndpoints = (db: Database, projectId: string) => changesRepository.listEndpoints(db.prisma, projectId);

export const MAX_DELIVERIES_PAGE = 100;

export function listDeliveries(db: Database, args: { endpointId: string; status: NotificationDeliveryStatus | null; first: number }) {
  if (args.first < 1 || args.first > MAX_DELIVERIES_PAGE)
    throw badInput([{ field: 'first', message: `must be between 1 and ${MAX_DELIVERIES_PAGE}` }]);
  return changesRepository.listDeliveries(db.prisma, args.endpointId, args.status, args.first);
}

/** Sends a delivery again as soon as a worker is free (a failed one, or a delivered one replayed). */
export async function retryDelivery({ db, actor, now }: Acting, id: string) {
  return db.prisma.$transaction(async (tx) => {
    const delivery = await changesRepository.findDelivery(tx, id);
    if (!delivery) throw notFound('Notification delivery');
    const requeued = await changesRepository.requeueDelivery(tx, id, now);
    await recordAudit(tx, actor, {
      action: 'notification-delivery.retry',
      outcome: 'SUCCESS',
      targetType: 'notification-delivery',
      targetId: id,
      scope: 'PROJECT',
      scopeOwnerId: delivery.projectId,
      reason: `was ${delivery.status} after ${delivery.attempts} attempts`,
    });
    return requeued;
  });
}
