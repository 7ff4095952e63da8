/** Reading typed fields of a parsed config.json, with ModelConfigError naming the field on bad input. */
import { ModelConfigError } from '../util/errors';

export type Json = Record<string, unknown>;

export function isObject(v: unknown): v is Json {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

export function positiveInt(raw: Json, key: string, fallback?: number): number {
  const v = raw[key] ?? fallback;
  if (v === undefined) throw new ModelConfigError(`config.json: missing required field "${key}"`, { field: key });
  if (typeof v !== 'number' || !Number.isSafeInteger(v) || v <= 0) {
    throw new ModelConfigError(`config.json: "${key}" must be a positive integer, got ${JSON.stringify(v)}`, {
      field: key,
      actual: v as never,
    });
  }
  return v;
}

export function positiveNumber(raw: Json, key: string, fallback: number | undefined, prefix = ''): number {
  const v = raw[key] ?? fallback;
  if (v === undefined) {
    throw new ModelConfigError(`config.json: missing required field "${prefix}${key}"`, { field: prefix + key });
  }
  if (typeof v !== 'number' || !Number.isFinite(v) || v <= 0) {
    throw new ModelConfigError(`config.json: "${prefix}${key}" must be a positive number, got ${JSON.stringify(v)}`, {
      field: prefix + key,
      actual: v as never,
    });
  }
  return v;
}

export function optionalBool(raw: Json, key: string, fallback: boolean): boolean {
  const v = raw[key] ?? fallback;
  if (typeof v !== 'boolean') {
    throw new ModelConfigError(`config.json: "${key}" must be a boolean, got ${JSON.stringify(v)}`, { field: key });
  }
  return v;
}

/** An optional positive integer: absent or null gives null. */
export function optionalPositiveInt(raw: Json, key: string): number | null {
  const v = raw[key];
  return v === undefined || v === null ? null : positiveInt(raw, key);
}
