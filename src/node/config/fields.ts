/**
 * Field readers for configuration documents: the strict JSON reader's `JsonFields` with typed configuration error
 * codes and messages that name the document and the field's full path (`network.json …: scoring.bmaAlpha …`).
 * A section is read either with every field required (a saved network.json) or with each field optional (overrides).
 */
import { readJsonObjectFile, JsonFields } from '../../core/json.ts';
import type { ConfigErrorCode, ConfigErrorFactory } from './errors.ts';

export class ConfigFields extends JsonFields {
  constructor(
    obj: Record<string, unknown>,
    /** The document, e.g. `network.json /run/network.json`. */
    readonly doc: string,
    /** Dotted path of this object inside the document; '' for the top level. */
    readonly path: string,
    private readonly raise: ConfigErrorFactory,
  ) {
    super(obj, path === '' ? doc : `${doc}: ${path}`, (_kind, message, cause) => raise('InvalidField', message, cause));
  }

  /** Reads the JSON object file at `path`; any failure to read it is an `Unreadable` error naming the path. */
  static fromFile(path: string, doc: string, raise: ConfigErrorFactory): ConfigFields {
    const obj = readJsonObjectFile(path, doc, (_kind, message, cause) => raise('Unreadable', message, cause));
    return new ConfigFields(obj, `${doc} ${path}`, '', raise);
  }

  fieldPath(key: string): string {
    return this.path === '' ? key : `${this.path}.${key}`;
  }

  /** Throws the `code` error naming the document and the field. */
  failField(key: string, why: string, code: ConfigErrorCode = 'InvalidField'): never {
    throw this.raise(code, `${this.doc}: ${this.fieldPath(key)} ${why}`);
  }

  /** Throws an InvalidField error about this whole object (a rule across its fields). */
  failHere(why: string): never {
    throw this.raise('InvalidField', `${this.doc}: ${this.path === '' ? '' : `${this.path}: `}${why}`);
  }

  /** The inherited readers' messages start with the field's key. */
  override fail(message: string): never {
    throw this.raise('InvalidField', `${this.doc}: ${this.path === '' ? '' : `${this.path}.`}${message}`);
  }

  override allowedKeys(keys: readonly string[]): this {
    for (const k of Object.keys(this.obj)) {
      if (!keys.includes(k)) throw this.raise('UnknownField', `${this.doc}: ${this.fieldPath(k)}: unknown field (allowed: ${keys.join(', ')})`);
    }
    return this;
  }

  override exactKeys(keys: readonly string[]): this {
    for (const k of keys) this.need(k);
    return this.allowedKeys(keys);
  }

  need(key: string): void {
    if (!this.has(key)) throw this.raise('MissingField', `${this.doc}: ${this.fieldPath(key)}: missing field`);
  }

  override object(key: string): ConfigFields {
    return new ConfigFields(super.object(key).obj, this.doc, this.fieldPath(key), this.raise);
  }

  /** A non-empty string. */
  text(key: string): string {
    const v = this.obj[key];
    if (typeof v !== 'string' || v.length === 0) this.failField(key, `must be a non-empty string, got ${JSON.stringify(v)}`);
    return v;
  }

  /** A number in (0, hi]. */
  positive(key: string, hi = Number.MAX_VALUE): number {
    const v = this.obj[key];
    if (typeof v !== 'number' || !Number.isFinite(v) || v <= 0 || v > hi) this.failField(key, `must be a number in (0, ${hi}], got ${JSON.stringify(v)}`);
    return v;
  }

  /** A non-empty list of at most maxLength numbers in [lo, hi]. */
  numbers(key: string, lo: number, hi: number, maxLength: number): number[] {
    const v = this.array(key, maxLength);
    if (v.length === 0) this.failField(key, 'must not be empty');
    const out: number[] = [];
    for (const x of v) {
      if (typeof x !== 'number' || !Number.isFinite(x) || x < lo || x > hi) this.failField(key, `entries must be numbers in [${lo}, ${hi}], got ${JSON.stringify(x)}`);
      out.push(x);
    }
    return out;
  }
}

/** How a section's fields are taken: each one required, or each one optional (`Absent` = undefined). */
export interface FieldMode<Absent> {
  take<T>(f: ConfigFields, key: string, read: (key: string) => T): T | Absent;
}

export const REQUIRED: FieldMode<never> = {
  take(f, key, read) {
    f.need(key);
    return read(key);
  },
};

export const OPTIONAL: FieldMode<undefined> = {
  take: (f, key, read) => (f.has(key) ? read(key) : undefined),
};

/** A section's checked fields: the complete value when read REQUIRED, each field possibly undefined when OPTIONAL. */
export type SectionFields<T, Absent> = { [K in keyof T]: T[K] | Absent };

/** The fields that were given (absent ones dropped, so spreading the result over defaults keeps the defaults). */
export function definedOnly<T extends object>(fields: SectionFields<T, undefined>): Partial<T> {
  const out: { -readonly [K in keyof T]?: T[K] } = {};
  for (const key of Object.keys(fields) as (keyof T)[]) {
    const v = fields[key];
    if (v !== undefined) out[key] = v;
  }
  return out;
}
