/**
 * The uniform arena: every dispatch of a step packs its Params into the next 256-byte slot of a
 * CPU shadow, and one writeBuffer per chunk uploads them all before the step's submit. Chunks are
 * allocated once and reused (style.md rule 5); a step that needs more grows the pool, never a
 * chunk already bound.
 */
const chunkBytes = 64 * 1024;

export class UniformArena {
  private readonly chunks: { buffer: GPUBuffer; shadow: Uint8Array<ArrayBuffer> }[] = [];
  private chunk = 0;
  private offset = 0;
  private readonly align: number;

  constructor(private readonly device: GPUDevice) {
    this.align = device.limits.minUniformBufferOffsetAlignment;
  }

  /** Reserves a slot holding `data`; returns the binding to put in a bind group. */
  alloc(data: ArrayBuffer): GPUBufferBinding {
    const size = data.byteLength;
    if (this.offset + size > chunkBytes) {
      this.chunk++;
      this.offset = 0;
    }
    if (this.chunk === this.chunks.length) {
      this.chunks.push({
        buffer: this.device.createBuffer({
          label: `uniform_arena.${this.chunk}`,
          size: chunkBytes,
          usage: GPUBufferUsage.UNIFORM | GPUBufferUsage.COPY_DST,
        }),
        shadow: new Uint8Array(chunkBytes),
      });
    }
    const c = this.chunks[this.chunk];
    c.shadow.set(new Uint8Array(data), this.offset);
    const binding = { buffer: c.buffer, offset: this.offset, size };
    this.offset += Math.ceil(size / this.align) * this.align;
    return binding;
  }

  /** Uploads every slot written since the last reset(); call before submitting the step. */
  flush(): void {
    for (let i = 0; i <= this.chunk && i < this.chunks.length; i++) {
      const used = i < this.chunk ? chunkBytes : this.offset;
      if (used > 0) this.device.queue.writeBuffer(this.chunks[i].buffer, 0, this.chunks[i].shadow, 0, used);
    }
  }

  /** Starts a new step. Only after the previous step's writes were flushed and submitted. */
  reset(): void {
    this.chunk = 0;
    this.offset = 0;
  }

  destroy(): void {
    for (const c of this.chunks) c.buffer.destroy();
    this.chunks.length = 0;
  }
}
