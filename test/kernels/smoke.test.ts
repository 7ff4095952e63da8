import { expect, test } from 'vitest';
test('webgpu adapter', async () => {
  const adapter = await navigator.gpu.requestAdapter();
  expect(adapter).not.toBeNull();
  const info = adapter!.info;
  console.log(info.vendor, info.architecture, [...adapter!.features].join(','), adapter!.limits.maxStorageBufferBindingSize);
});
