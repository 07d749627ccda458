/**
 * Order-keeping array edits that allocate nothing (Array.prototype.splice
 * returns a new array): the run queues, lock waiter lists and sleep queues
 * change on every step.
 * @module
 */

/** Inserts `x` at a[i] keeping order, without allocating. */
export function insertAt<T>(a: T[], i: number, x: T): void {
  a.push(x);
  for (let j = a.length - 1; j > i; j--) a[j] = a[j - 1];
  a[i] = x;
}

/** Removes a[i] keeping order, without allocating. */
export function removeAt<T>(a: T[], i: number): void {
  for (let j = i + 1; j < a.length; j++) a[j - 1] = a[j];
  a.length--;
}
