/** CRC-32 (IEEE 802.3, reflected polynomial 0xEDB88320), the checksum of zip/png; incremental. */

const table = (() => {
  const t = new Uint32Array(256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    t[n] = c >>> 0;
  }
  return t;
})();

/** Continues a CRC over `bytes`; start with crc = 0 (the default). Returns an unsigned 32-bit value. */
export function crc32(bytes: Uint8Array, crc = 0): number {
  let c = ~crc >>> 0;
  for (let i = 0; i < bytes.length; i++) c = table[(c ^ bytes[i]) & 0xff] ^ (c >>> 8);
  return ~c >>> 0;
}

/** The bytes of any typed array, without copying (little-endian, as every WebGPU platform is). */
export function bytesOf(view: ArrayBufferView): Uint8Array {
  return new Uint8Array(view.buffer, view.byteOffset, view.byteLength);
}

/** Checksum of one memory record: CRC-32 of the payload bytes followed by the positions' bytes. */
export function recordChecksum(payload: Uint8Array, positions: Uint16Array): number {
  return crc32(bytesOf(positions), crc32(payload));
}
