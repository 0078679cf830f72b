import { lookup as dnsLookup } from 'node:dns/promises';
import { isIP, type LookupFunction } from 'node:net';
import type { Dispatcher, Response } from 'undici';
import { cjsExports } from '../cjs-exports.js';
import { FlowlineError } from '../errors.js';
import { CappedText } from './capped-text.js';
import {
  abortError,
  isPlainObject,
  raceSignal,
  type StepExecutor,
  StepFailedError,
  type StepOutputs,
  type StepRequest,
} from './executor.js';
import { isHostAllowed, isPrivateAddress, normalizeHost } from './network.js';

/** Response bodies are cut here; the engine caps a step's outputs at 256 KiB anyway. */
export const HTTP_BODY_CAP_BYTES = 256 * 1024;
export const HTTP_MAX_REDIRECTS = 5;

/** Resolves a host name to every address it has (dns.lookup with `all`). */
export type LookupFn = (hostname: string) => Promise<string[]>;

export interface HttpExecutorOptions {
  /** Replaceable for tests; defaults to `dns.lookup(host, {all: true})`. */
  lookup?: LookupFn;
}

const defaultLookup: LookupFn = async (hostname) => {
  const addresses = await dnsLookup(hostname, { all: true, verbatim: true });
  return addresses.map((a) => a.address);
};

interface HttpWith {
  url: URL;
  method: string;
  headers: Headers;
  /** Headers flowline set, not the step (lower-case): the only ones a cross-origin redirect keeps. */
  own: Set<string>;
  body: string | undefined;
  timeoutMs: number | undefined;
  expectStatus: (status: number) => boolean;
  expectText: string;
}

function invalid(message: string): FlowlineError {
  return new FlowlineError('VALIDATION', `http step: ${message}`);
}

function parseWith(w: Record<string, unknown>): HttpWith {
  if (typeof w.url !== 'string' || w.url === '') throw invalid("'with.url' must be a string");
  let url: URL;
  try {
    url = new URL(w.url);
  } catch {
    throw invalid("'with.url' is not a valid URL");
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    throw invalid("'with.url' must use http or https");
  }

  const method = w.method === undefined ? 'GET' : w.method;
  if (typeof method !== 'string' || !/^[A-Za-z]+$/.test(method)) {
    throw invalid("'with.method' must be an HTTP method name");
  }

  const headers = new Headers();
  if (w.headers !== undefined) {
    if (!isPlainObject(w.headers)) throw invalid("'with.headers' must be an object");
    for (const [name, value] of Object.entries(w.headers)) {
      if (value === undefined || value === null) continue;
      try {
        headers.set(name, typeof value === 'string' ? value : String(value));
      } catch {
        throw invalid(`header '${name}' is not a valid header`);
      }
    }
  }

  const own = new Set<string>();
  let body: string | undefined;
  if (w.body !== undefined && w.body !== null) {
    if (typeof w.body === 'string') {
      body = w.body;
    } else {
      body = JSON.stringify(w.body);
      if (!headers.has('content-type')) {
        headers.set('content-type', 'application/json');
        own.add('content-type');
      }
    }
    if (/^(GET|HEAD)$/i.test(method))
      throw invalid(`a ${method.toUpperCase()} request has no body`);
  }

  let timeoutMs: number | undefined;
  if (w.timeoutMs !== undefined) {
    if (typeof w.timeoutMs !== 'number' || !(w.timeoutMs > 0)) {
      throw invalid("'with.timeoutMs' must be a positive number");
    }
    timeoutMs = w.timeoutMs;
  }

  let expectStatus = (status: number) => status >= 200 && status < 300;
  let expectText = '2xx';
  if (w.expectStatus !== undefined) {
    const list = Array.isArray(w.expectStatus) ? w.expectStatus : [w.expectStatus];
    if (list.length === 0 || !list.every((s) => Number.isInteger(s))) {
      throw invalid("'with.expectStatus' must be a status code or a list of them");
    }
    const allowed = new Set(list as number[]);
    expectStatus = (status) => allowed.has(status);
    expectText = [...allowed].join(', ');
  }

  return {
    url,
    method: method.toUpperCase(),
    headers,
    own,
    body,
    timeoutMs,
    expectStatus,
    expectText,
  };
}

/** `GET https://host/path`, without query or credentials (they may carry secrets). */
function describe(method: string, url: URL): string {
  return `${method} ${url.origin}${url.pathname}`;
}

function isJsonType(contentType: string | null): boolean {
  const mediaType = (contentType ?? '').split(';')[0]?.trim().toLowerCase() ?? '';
  return /(^|[/+])json$/.test(mediaType);
}

/** Lower-cased names; repeated headers (set-cookie) joined with ', '. */
function headersObject(headers: Headers): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [name, value] of headers) {
    const seen = Object.hasOwn(out, name) ? out[name] : undefined;
    out[name] = seen === undefined ? value : `${seen}, ${value}`;
  }
  return out;
}

async function readCapped(res: Response): Promise<string> {
  if (res.body === null) return '';
  const capped = new CappedText(HTTP_BODY_CAP_BYTES);
  const reader = res.body.getReader();
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    if (!capped.push(value)) {
      // Stop downloading: the rest would be thrown away.
      await reader.cancel().catch(() => undefined);
      break;
    }
  }
  return capped.text();
}

/**
 * The addresses `url` may be reached at: its host must be in permissions.hosts and,
 * without `private-network`, resolve to public addresses only. The connection then
 * goes to these very addresses (pinnedDispatcher), so a DNS answer that changes
 * between the check and the connect (rebinding) cannot reach loopback or metadata.
 */
async function checkDestination(
  url: URL,
  req: StepRequest,
  lookup: LookupFn,
  signal: AbortSignal,
): Promise<string[]> {
  const host = normalizeHost(url.hostname);
  if (!isHostAllowed(host, req.allowedHosts)) {
    throw new FlowlineError(
      'CAPABILITY_DENIED',
      `host '${host}' is not in this workflow's permissions.hosts`,
    );
  }
  let addresses: string[];
  try {
    // An IP literal needs no lookup (and is what a connection to it uses).
    addresses = isIP(host) ? [host] : await raceSignal(lookup(host), signal);
  } catch (err) {
    if (err instanceof FlowlineError) throw err;
    throw new StepFailedError(`could not resolve host '${host}'`, undefined, 'STEP_FAILED', {
      cause: err,
    });
  }
  const privateAllowed = req.capabilities.has('private-network');
  if (privateAllowed && addresses.length === 0) {
    throw new StepFailedError(`could not resolve host '${host}'`);
  }
  // Any private answer denies: the connection may use any of them.
  if (!privateAllowed && (addresses.length === 0 || addresses.some(isPrivateAddress))) {
    throw new FlowlineError(
      'CAPABILITY_DENIED',
      `host '${host}' resolves to a private or loopback address; reaching it needs the 'private-network' capability`,
    );
  }
  return addresses;
}

/** An undici dispatcher whose connections go only to `addresses`, whatever DNS says now. */
async function pinnedDispatcher(addresses: string[]): Promise<Dispatcher> {
  // Loaded at the first http step: a cold start that runs none pays nothing for it.
  const { Agent } = cjsExports(await import('undici'));
  const pinned = addresses.map((address) => ({ address, family: isIP(address) }));
  const lookup: LookupFunction = (_hostname, options, callback) => {
    const first = pinned[0] ?? { address: '', family: 4 };
    if (options.all) (callback as (e: null, a: typeof pinned) => void)(null, pinned);
    else callback(null, first.address, first.family);
  };
  return new Agent({ connect: { lookup }, connections: 1, pipelining: 0 });
}

const REDIRECT_STATUSES = new Set([301, 302, 303, 307, 308]);

/**
 * `uses: http`. Redirects are followed by hand (at most HTTP_MAX_REDIRECTS) so every
 * hop passes the host and SSRF checks (fetch's own following would skip them), and
 * each hop connects to the addresses its check passed (no second DNS lookup).
 */
export function createHttpExecutor(options: HttpExecutorOptions = {}): StepExecutor {
  const lookup = options.lookup ?? defaultLookup;
  return {
    async run(req: StepRequest): Promise<StepOutputs> {
      const w = parseWith(req.with);
      if (!w.headers.has('idempotency-key')) {
        w.headers.set('idempotency-key', req.idempotencyKey);
        w.own.add('idempotency-key');
      }

      const timeout = w.timeoutMs === undefined ? undefined : AbortSignal.timeout(w.timeoutMs);
      const signal = timeout === undefined ? req.signal : AbortSignal.any([req.signal, timeout]);
      const toError = (err: unknown, what: string): FlowlineError => {
        if (req.signal.aborted) return abortError(req.signal);
        if (timeout?.aborted) {
          return new FlowlineError('TIMEOUT', `http request timed out after ${w.timeoutMs}ms`);
        }
        if (err instanceof FlowlineError) return err;
        const cause = err instanceof Error && err.cause instanceof Error ? err.cause : err;
        const detail = cause instanceof Error ? `: ${cause.message}` : '';
        return new StepFailedError(`${what} failed${detail}`, undefined, 'STEP_FAILED', {
          cause: err,
        });
      };

      const started = performance.now();
      let url = w.url;
      let method = w.method;
      let body = w.body;
      const headers = w.headers;
      for (let hop = 0; ; hop++) {
        const what = describe(method, url);
        let res: Response;
        let text: string;
        let dispatcher: Dispatcher | undefined;
        try {
          const addresses = await checkDestination(url, req, lookup, signal);
          dispatcher = await pinnedDispatcher(addresses);
          const { fetch } = cjsExports(await import('undici'));
          res = await fetch(url, {
            method,
            headers: [...headers],
            body,
            signal,
            redirect: 'manual',
            dispatcher,
          });
          const location = res.headers.get('location');
          if (REDIRECT_STATUSES.has(res.status) && location !== null) {
            await res.body?.cancel().catch(() => undefined);
            if (hop >= HTTP_MAX_REDIRECTS) {
              throw new StepFailedError(`${what} redirected more than ${HTTP_MAX_REDIRECTS} times`);
            }
            const next = new URL(location, url);
            if (next.protocol !== 'http:' && next.protocol !== 'https:') {
              throw new StepFailedError(`${what} redirected to a non-http URL`);
            }
            if (next.origin !== url.origin) {
              // No header the step set follows it to another origin: any of them may
              // carry a credential (X-Api-Key…), not only Authorization and Cookie.
              for (const name of [...headers.keys()]) if (!w.own.has(name)) headers.delete(name);
            }
            if (
              res.status === 303 ||
              ((res.status === 301 || res.status === 302) && method === 'POST')
            ) {
              if (method !== 'HEAD') method = 'GET';
              body = undefined;
              headers.delete('content-type');
            }
            url = next;
            continue;
          }
          text = await readCapped(res);
        } catch (err) {
          throw toError(err, what);
        } finally {
          dispatcher?.destroy().catch(() => undefined);
        }

        const contentType = res.headers.get('content-type');
        let parsed: unknown = text;
        if (isJsonType(contentType) && text !== '') {
          try {
            parsed = JSON.parse(text);
          } catch {
            // Not JSON after all (or cut at the cap): keep the text.
          }
        }
        const outputs: StepOutputs = {
          status: res.status,
          headers: headersObject(res.headers),
          body: parsed,
          durationMs: Math.round(performance.now() - started),
        };
        if (!w.expectStatus(res.status)) {
          throw new StepFailedError(
            `${what} answered ${res.status} (expected ${w.expectText})`,
            outputs,
          );
        }
        return outputs;
      }
    },
  };
}

export const httpExecutor: StepExecutor = createHttpExecutor();
