/**
 * A secret value that cannot leak by accident: it prints as `<secret>` in logs, errors,
 * JSON and string interpolation. Read it only with `reveal()`, at the point of use.
 */
const VALUE = Symbol('secret');

export class Secret {
  private readonly [VALUE]: string;
  constructor(value: string) {
    this[VALUE] = value;
  }
  reveal(): string {
    return this[VALUE];
  }
  toString(): string {
    return '<secret>';
  }
  toJSON(): string {
    return '<secret>';
  }
  [Symbol.for('nodejs.util.inspect.custom')](): string {
    return 'Secret(<secret>)';
  }
}

/** A reference to a key of a Kubernetes Secret; the renderer emits references, never values. */
export interface SecretRef {
  readonly name: string;
  readonly key: string;
}
