// A Map that forgets its oldest entry past `max`: for tables a peer can
// grow (one entry per connection, key or address), so none grows without
// bound.

export class BoundedMap<K, V> extends Map<K, V> {
  constructor(private readonly max: number) {
    super();
  }

  override set(key: K, value: V): this {
    if (!this.has(key) && this.size >= this.max) this.delete(this.keys().next().value as K);
    return super.set(key, value);
  }
}
