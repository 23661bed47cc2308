import { createHash } from 'node:crypto';
import { LIVE_HTML } from './html.js';
import { LIVE_ICON } from './icon.js';
import { LIVE_SCRIPT } from './script.js';
import { LIVE_STYLE } from './style.js';

/**
 * The live page's files, served from the metrics port as they are: our own HTML, script, style
 * and icon, no library and no CDN. The page only reads (/connections, /metrics, /healthz).
 */

/** One file of the page, ready to send. */
export interface PageAsset {
  contentType: string;
  body: Buffer;
  /** A strong validator: the browser revalidates (no-cache) and gets 304 while it matches. */
  etag: string;
}

function asset(contentType: string, text: string): PageAsset {
  const body = Buffer.from(text, 'utf8');
  return { contentType, body, etag: `"${createHash('sha256').update(body).digest('base64url').slice(0, 22)}"` };
}

/** The page's files by request path. */
export const LIVE_PAGE_ASSETS: ReadonlyMap<string, PageAsset> = new Map([
  ['/', asset('text/html; charset=utf-8', LIVE_HTML)],
  ['/live.js', asset('text/javascript; charset=utf-8', LIVE_SCRIPT)],
  ['/live.css', asset('text/css; charset=utf-8', LIVE_STYLE)],
  ['/favicon.svg', asset('image/svg+xml', LIVE_ICON)],
]);

/**
 * Headers of every page file: only our own files may load, nothing may frame the page, and no
 * address it shows leaks through a referrer.
 */
export const LIVE_PAGE_HEADERS: Readonly<Record<string, string>> = {
  'content-security-policy':
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; connect-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'",
  'x-content-type-options': 'nosniff',
  'referrer-policy': 'no-referrer',
  'cache-control': 'no-cache',
};
