/**
 * A bounded most-recently-used cache. The render plan, the emitter and the service keep what
 * was asked for lately (one directory's files come one after another; sidecars poll their own
 * files), never a whole fleet's worth.
 */
export class Recent<V> {
  private readonly map = new Map<string, V>();
  constructor(private readonly size: number) {
    if (!(size >= 1)) throw new Error(`Recent: size must be at least 1, got ${size}`);
  }

  get(key: string, make: () => V): V {
    const hit = this.map.get(key);
    if (hit !== undefined) {
      // Refresh: the oldest entry is the first in a Map's insertion order.
      this.map.delete(key);
      this.map.set(key, hit);
      return hit;
    }
    const v = make();
    this.map.set(key, v);
    if (this.map.size > this.size) this.map.delete(this.map.keys().next().value!);
    return v;
  }
}
