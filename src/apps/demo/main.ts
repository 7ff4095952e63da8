/** The demo page: model loading (default, URL with caching, local folder), generation, knowledge banks, memory inspector. */
import { wireGeneratePanel } from './generate-panel';
import { wireKnowledgePanel } from './knowledge-panel';
import { wireModelPanel } from './model-panel';
import { $ } from './ui';

if (!('gpu' in navigator)) {
  const w = $('webgpu-warning');
  w.hidden = false;
  w.textContent =
    'This browser has no WebGPU, so models cannot run here. Use Chrome or Edge 113+, Safari 26+, or Firefox 141+ on Windows; ' +
    'on Linux start Chrome with --enable-unsafe-webgpu. Everything else on this page still works.';
}
wireGeneratePanel();
wireKnowledgePanel();
wireModelPanel();
