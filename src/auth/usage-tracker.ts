import type { PrismaClient } from '../generated/prisma/client.js';
import { recordApiKeysUsed } from './auth.repository.js';

/**
 * Remembers when each API key was last used and writes it in batches, so authenticating a
 * request costs no database write. Precision is the flush interval, which is what people need.
 */
export class ApiKeyUsageTracker {
  private pending = new Map<string, Date>();
  private timer: NodeJS.Timeout | null = null;

  constructor(
    private readonly prisma: PrismaClient,
    private readonly flushIntervalMs = 30_000,
  ) {}

  start(): void {
    this.timer ??= setInterval(() => void this.flush().catch(() => undefined), this.flushIntervalMs);
    this.timer.unref();
  }

  record(apiKeyId: string, at: Date): void {
    this.pending.set(apiKeyId, at);
  }

  async flush(): Promise<void> {
    if (this.pending.size === 0) return;
    const batch = this.pending;
    this.pending = new Map();
    // Grouped by timestamp: one UPDATE per distinct second instead of one per key.
    const byTime = new Map<number, string[]>();
    for (const [id, at] of batch) {
      const second = Math.floor(at.getTime() / 1000) * 1000;
      byTime.set(second, [...(byTime.get(second) ?? []), id]);
    }
    for (const [second, ids] of byTime) {
      await recordApiKeysUsed(this.prisma, ids, new Date(second));
    }
  }

  async stop(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    await this.flush();
  }
}
