// The API key: given once in the URL fragment (`#key=…`, which no request
// carries), then kept in this browser's localStorage for this origin.
const STORE = 'flowline.apiKey';

/** Moves a `#key=` fragment into localStorage and out of the address bar and history. */
export function takeKeyFromFragment(): void {
  const params = new URLSearchParams(location.hash.slice(1));
  const key = params.get('key');
  if (!key) return;
  localStorage.setItem(STORE, key);
  params.delete('key');
  const rest = params.toString();
  history.replaceState(null, '', `${location.pathname}${location.search}${rest ? `#${rest}` : ''}`);
}

export const storedKey = (): string | null => localStorage.getItem(STORE);
export const saveKey = (key: string): void => localStorage.setItem(STORE, key.trim());
export const forgetKey = (): void => localStorage.removeItem(STORE);
