/**
 * Per-dispatch `Params` uniforms. A kernel's TS module declares its layout once with
 * defineParams(); test/kernels/params-layout.test.ts checks every declaration against the
 * `struct Params` of its .wgsl file (style.md rule 4). Fields are 4-byte scalars, in elements.
 */
export type ParamType = 'u32' | 'i32' | 'f32';

export interface ParamsLayout<K extends string = string> {
  readonly fields: readonly (readonly [K, ParamType])[];
  /** Byte size, padded to 16 as WGSL uniform structs are. */
  readonly byteSize: number;
  pack(values: Record<K, number>): ArrayBuffer;
}

export function defineParams<K extends string>(fields: readonly (readonly [K, ParamType])[]): ParamsLayout<K> {
  const byteSize = Math.max(16, Math.ceil((fields.length * 4) / 16) * 16);
  return {
    fields,
    byteSize,
    pack(values) {
      const buf = new ArrayBuffer(byteSize);
      const dv = new DataView(buf);
      fields.forEach(([name, type], i) => {
        const v = values[name];
        if (v === undefined || Number.isNaN(v)) throw new RangeError(`Params.${name} is ${v}`);
        if (type === 'f32') dv.setFloat32(i * 4, v, true);
        else if (type === 'u32') {
          if (!Number.isInteger(v) || v < 0 || v > 0xffffffff) throw new RangeError(`Params.${name} = ${v} is not a u32`);
          dv.setUint32(i * 4, v, true);
        } else {
          if (!Number.isInteger(v) || v < -0x80000000 || v > 0x7fffffff) throw new RangeError(`Params.${name} = ${v} is not an i32`);
          dv.setInt32(i * 4, v, true);
        }
      });
      return buf;
    },
  };
}

/** Reads `struct Params { a: u32, b: f32, ... }` out of WGSL source: [name, type] in order. */
export function parseWgslParams(source: string): [string, string][] {
  const m = source.match(/struct\s+Params\s*\{([^}]*)\}/);
  if (!m) return [];
  return m[1]
    .split('\n')
    .map((l) => l.replace(/\/\/.*$/, '').trim())
    .join(' ')
    .split(',')
    .map((f) => f.trim())
    .filter(Boolean)
    .map((f) => {
      const [n, t] = f.split(':').map((s) => s.trim());
      return [n, t] as [string, string];
    });
}
