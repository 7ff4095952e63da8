/**
 * Web pages standing in for files. Static servers with a single-page-app fallback (Vite's dev
 * server, many hosting setups) answer a missing file with their index.html and status 200; the
 * model loader must see that as "missing", never as the file's bytes.
 */
import { ModelFetchError } from './errors';

/** A path whose real content is HTML (never the case for model, tokenizer or bank files). */
export const isHtmlPath = (path: string) => /\.x?html?$/i.test(path);

/** True when a response declares an HTML page for a path that is not an HTML file. */
export function isWebPageResponse(res: Response, path: string): boolean {
  const type = (res.headers.get('content-type') ?? '').toLowerCase();
  return !isHtmlPath(path) && (type.startsWith('text/html') || type.startsWith('application/xhtml'));
}

/** True when the first bytes or characters of a body are an HTML document (doctype, a tag or a comment). */
export function looksLikeWebPage(head: string | Uint8Array): boolean {
  const text = typeof head === 'string' ? head.slice(0, 256) : String.fromCharCode(...head.subarray(0, 256));
  return /^(?:\ufeff|\xef\xbb\xbf)?\s*<(?:!doctype\s+html|html[\s>]|head[\s>]|body[\s>]|script[\s>]|meta[\s>]|!--)/i.test(text);
}

/** The named error for a required file answered with a web page. */
export function webPageError(url: string, path: string, status?: number): ModelFetchError {
  return new ModelFetchError(
    `${url}: the server returned a web page (HTML${status === undefined ? '' : `, HTTP ${status}`}) instead of ${path}; ` +
      "the file is missing and the server answers unknown paths with a page (a single-page-app fallback such as Vite's dev server)",
    { url, path, status, webPage: true },
  );
}
