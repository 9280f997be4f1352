/**
 * Readers that check a parsed JSON value against a TypeScript type and return it typed, or `INVALID`. A reader's
 * type parameter is invariant, so a table of readers declared as `{ [K in keyof M]: ShapeReader<M[K]> }` fails the
 * typecheck unless each reader yields exactly `M[K]` (a renamed, added or retyped field must be changed in both).
 * Object readers keep only their declared fields; keys they do not know are ignored.
 */

export const INVALID: unique symbol = Symbol('invalid');
export type Invalid = typeof INVALID;

export interface ShapeReader<T> {
  read(value: unknown): T | Invalid;
  /** Never set: makes `T` invariant. */
  readonly _type?: (value: T) => T;
}

const reader = <T>(read: (value: unknown) => T | Invalid): ShapeReader<T> => ({ read });

const isPlainObject = (x: unknown): x is Record<string, unknown> => typeof x === 'object' && x !== null && !Array.isArray(x);

/** How the event writer spells a non-finite number (JSON has none). */
const NON_FINITE: Readonly<Record<string, number>> = { NaN: Number.NaN, Infinity: Number.POSITIVE_INFINITY, '-Infinity': Number.NEGATIVE_INFINITY };

/** A number; the strings "NaN", "Infinity" and "-Infinity" read as those values. */
export const num: ShapeReader<number> = reader((x) => (typeof x === 'number' ? x : typeof x === 'string' && Object.hasOwn(NON_FINITE, x) ? NON_FINITE[x] : INVALID));

/** A safe integer. */
export const int: ShapeReader<number> = reader((x) => (typeof x === 'number' && Number.isSafeInteger(x) ? x : INVALID));

export const str: ShapeReader<string> = reader((x) => (typeof x === 'string' ? x : INVALID));

export const bool: ShapeReader<boolean> = reader((x) => (typeof x === 'boolean' ? x : INVALID));

/** Exactly the string `value`. */
export function literal<L extends string>(value: L): ShapeReader<L> {
  return reader((x) => (x === value ? value : INVALID));
}

/** The value or JSON null. */
export function nullable<T>(r: ShapeReader<T>): ShapeReader<T | null> {
  return reader((x) => (x === null ? null : r.read(x)));
}

/** The value or an absent field (the event writer drops `undefined`). */
export function optional<T>(r: ShapeReader<T>): ShapeReader<T | undefined> {
  return reader((x) => (x === undefined ? undefined : r.read(x)));
}

export function array<T>(r: ShapeReader<T>): ShapeReader<readonly T[]> {
  return reader<readonly T[]>((x) => {
    if (!Array.isArray(x)) return INVALID;
    const out: T[] = [];
    for (const item of x) {
      const v = r.read(item);
      if (v === INVALID) return INVALID;
      out.push(v);
    }
    return out;
  });
}

/** An object used as a map: any keys, every value read by `r`. */
export function record<T>(r: ShapeReader<T>): ShapeReader<Readonly<Record<string, T>>> {
  return reader<Readonly<Record<string, T>>>((x) => {
    if (!isPlainObject(x)) return INVALID;
    const out: Record<string, T> = {};
    for (const [k, item] of Object.entries(x)) {
      const v = r.read(item);
      if (v === INVALID) return INVALID;
      out[k] = v;
    }
    return out;
  });
}

/** One reader per field of `T`, optional fields included. */
export type FieldReaders<T> = { readonly [K in keyof T]-?: ShapeReader<T[K]> };

/** An object with the fields of `T`; an optional field that is absent stays absent. */
export function object<T extends object>(fields: FieldReaders<T>): ShapeReader<T> {
  const entries = Object.entries(fields) as Array<[string, ShapeReader<unknown>]>;
  return reader((x) => {
    if (!isPlainObject(x)) return INVALID;
    const out: Record<string, unknown> = {};
    for (const [k, r] of entries) {
      const v = r.read(x[k]);
      if (v === INVALID) return INVALID;
      if (v !== undefined) out[k] = v;
    }
    return out as T;
  });
}

/** The first of `a`, `b` that reads the value. */
export function either<A, B>(a: ShapeReader<A>, b: ShapeReader<B>): ShapeReader<A | B> {
  return reader((x) => {
    const v = a.read(x);
    return v !== INVALID ? v : b.read(x);
  });
}

/** A union of object types told apart by their `kind` field: one reader per kind. */
export function byKind<T extends { kind: string }>(readers: { readonly [K in T['kind']]: ShapeReader<Extract<T, { kind: K }>> }): ShapeReader<T> {
  const table = readers as unknown as Readonly<Record<string, ShapeReader<T>>>;
  return reader((x) => (isPlainObject(x) && typeof x.kind === 'string' && Object.hasOwn(table, x.kind) ? table[x.kind].read(x) : INVALID));
}
