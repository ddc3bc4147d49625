/** The live page's files, built once at load and served with an ETag. */
import { createHash } from 'node:crypto';
import { DASHBOARD_JS } from './client.js';
import { dashboardHtml } from './page.js';
import { DASHBOARD_CSS } from './styles.js';

export interface Asset {
  body: Buffer;
  contentType: string;
  /** Strong validator, also used as the cache-busting version in the page's links. */
  etag: string;
}

function asset(text: string, contentType: string): Asset {
  const body = Buffer.from(text, 'utf8');
  return { body, contentType, etag: `"${createHash('sha256').update(body).digest('base64url').slice(0, 16)}"` };
}

const version = (a: Asset): string => a.etag.slice(1, -1);

export const APP_CSS = asset(DASHBOARD_CSS, 'text/css; charset=utf-8');
export const APP_JS = asset(DASHBOARD_JS, 'text/javascript; charset=utf-8');
export const INDEX_HTML = asset(dashboardHtml(version(APP_CSS), version(APP_JS)), 'text/html; charset=utf-8');
