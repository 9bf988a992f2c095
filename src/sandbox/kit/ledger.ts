/** An append-only record of what a sandbox committed; readers get copies. */
export class Ledger<E extends object> {
  private readonly entries: E[] = [];

  /** How many entries so far (the next one's 1-based number is `size + 1`). */
  get size(): number {
    return this.entries.length;
  }

  add(entry: E): void {
    this.entries.push(entry);
  }

  list(filter: (entry: E) => boolean = () => true): E[] {
    return this.entries.filter(filter).map((e) => ({ ...e }));
  }
}
