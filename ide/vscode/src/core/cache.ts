/** Results by key, valid while the inputs' fingerprint is the same; the least recently used go first past `max`. */

import { createHash } from "node:crypto";

export class ResultCache<T> {
  private readonly entries = new Map<string, { fingerprint: string; value: T }>();

  constructor(private readonly max = 10_000) {}

  get(key: string, fingerprint: string): T | undefined {
    const entry = this.entries.get(key);
    if (entry === undefined || entry.fingerprint !== fingerprint) return undefined;
    this.entries.delete(key);
    this.entries.set(key, entry); // most recently used last
    return entry.value;
  }

  /** The last value stored for `key`, whatever its fingerprint (shown until a newer estimate is done). */
  latest(key: string): T | undefined {
    return this.entries.get(key)?.value;
  }

  set(key: string, fingerprint: string, value: T): void {
    this.entries.delete(key);
    this.entries.set(key, { fingerprint, value });
    while (this.entries.size > this.max) {
      const oldest = this.entries.keys().next().value;
      if (oldest === undefined) break;
      this.entries.delete(oldest);
    }
  }

  delete(key: string): void {
    this.entries.delete(key);
  }

  clear(): void {
    this.entries.clear();
  }

  keys(): string[] {
    return [...this.entries.keys()];
  }

  get size(): number {
    return this.entries.size;
  }
}

export function fingerprint(parts: (string | Buffer)[]): string {
  const hash = createHash("sha256");
  for (const part of parts) {
    hash.update(part);
    hash.update("\0");
  }
  return hash.digest("hex");
}
