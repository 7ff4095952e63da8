/**
 * GPU buffers created on the device and not destroyed yet, and how many were ever created.
 * Its own module because the worker protocol (and so the shipped .d.ts files) names it: importing
 * it from gpu/device would pull WebGPU types into the public declarations.
 */
export interface BufferTally {
  live: number;
  liveBytes: number;
  created: number;
}
