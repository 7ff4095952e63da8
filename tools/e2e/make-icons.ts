/**
 * `npx tsx tools/e2e/make-icons.ts`: draws the chat's app icons (public/icons/icon-{192,512}.png)
 * with Debian's Chromium from an inline SVG. The PNGs are committed; rerun only to change the art.
 */
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { chromium } from 'playwright';
import { chromiumArgs, chromiumPath } from '../../vite.config';
import { repoRoot } from './harness';

// Full-bleed square (safe for maskable icons: the glyph stays inside the central 80%).
const svg = `<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 100 100" width="100%" height="100%">
  <defs><linearGradient id="g" x1="0" y1="0" x2="1" y2="1"><stop offset="0" stop-color="#3f63f0"/><stop offset="1" stop-color="#0f1424"/></linearGradient></defs>
  <rect width="100" height="100" fill="url(#g)"/>
  <g fill="none" stroke="#f2c94c" stroke-width="3" opacity=".9"><rect x="22" y="62" width="56" height="6" rx="3"/><rect x="28" y="71" width="44" height="6" rx="3"/></g>
  <text x="50" y="55" font-family="DejaVu Sans, sans-serif" font-size="40" font-weight="700" fill="#fff" text-anchor="middle">m<tspan font-size="24" dy="-16">3</tspan></text>
</svg>`;

async function main(): Promise<void> {
  const out = join(repoRoot, 'public/icons');
  mkdirSync(out, { recursive: true });
  const browser = await chromium.launch({ executablePath: chromiumPath, args: chromiumArgs });
  for (const size of [192, 512]) {
    const page = await browser.newPage({ viewport: { width: size, height: size } });
    await page.setContent(`<html><body style="margin:0;width:${size}px;height:${size}px">${svg}</body></html>`);
    await page.screenshot({ path: join(out, `icon-${size}.png`), omitBackground: false });
    await page.close();
  }
  await browser.close();
  console.log(`icons written to ${out}`);
}

void main();
