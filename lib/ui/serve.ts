import type { ApiResponse } from '../api/http.js';
import { UI_ASSETS, UI_SCRIPT, UI_STYLE } from './assets.generated.js';

/**
 * The page admits only its own script and style and talks only to this origin:
 * no inline script or style, no framing, no plugins. The key lives in the URL
 * fragment and localStorage, never in a request the page does not make itself.
 */
export const CONTENT_SECURITY_POLICY = [
  "default-src 'none'",
  "script-src 'self'",
  "style-src 'self'",
  "connect-src 'self'",
  "img-src 'self' data:",
  "base-uri 'none'",
  "form-action 'none'",
  "frame-ancestors 'none'",
].join('; ');

const PAGE_HEADERS = {
  'content-type': 'text/html; charset=utf-8',
  'cache-control': 'no-cache',
  'content-security-policy': CONTENT_SECURITY_POLICY,
  'x-content-type-options': 'nosniff',
  'referrer-policy': 'no-referrer',
};

// Every /ui path gets the same shell: the script routes on location.pathname.
const PAGE = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>flowline</title>
<link rel="icon" href="data:,">
<link rel="stylesheet" href="/ui/assets/${UI_STYLE}">
<script type="module" src="/ui/assets/${UI_SCRIPT}"></script>
</head>
<body><div id="app"></div></body>
</html>
`;

/**
 * `GET /ui…`: the page shell, or one of its content-hashed (so immutable) assets;
 * undefined for an asset there is none of (the route answers 404). No HttpError
 * here: a value of the API's modules imported by this lazily loaded one would be a
 * chunk of its own, one more file read at the submit function's init.
 */
export function serveUi(path: string): ApiResponse | undefined {
  const asset = /^\/ui\/assets\/([^/]+)$/.exec(path);
  if (!asset) return { status: 200, headers: PAGE_HEADERS, text: PAGE };
  const found = UI_ASSETS[asset[1] ?? ''];
  if (!found) return undefined;
  return {
    status: 200,
    headers: {
      'content-type': found.type,
      'cache-control': 'public, max-age=31536000, immutable',
      'x-content-type-options': 'nosniff',
    },
    text: found.body,
  };
}
