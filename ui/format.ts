/** 850 ms, 12.3 s, 4m 05s, 2h 03m. */
export function duration(ms: number): string {
  if (!Number.isFinite(ms) || ms < 0) return '';
  if (ms < 1000) return `${Math.round(ms)} ms`;
  if (ms < 60_000) return `${(ms / 1000).toFixed(1)} s`;
  const s = Math.floor(ms / 1000);
  if (s < 3600) return `${Math.floor(s / 60)}m ${String(s % 60).padStart(2, '0')}s`;
  return `${Math.floor(s / 3600)}h ${String(Math.floor((s % 3600) / 60)).padStart(2, '0')}m`;
}

/** How long something ran: to its end, or until now while it runs. */
export function elapsed(start: string | null, end: string | null, now = Date.now()): string {
  if (!start) return '';
  return duration((end ? Date.parse(end) : now) - Date.parse(start));
}

/** Local wall-clock time, with milliseconds when `precise`. */
export function clock(iso: string, precise = false): string {
  const d = new Date(iso);
  const hms = d.toLocaleTimeString(undefined, { hour12: false });
  return precise ? `${hms}.${String(d.getMilliseconds()).padStart(3, '0')}` : hms;
}

/** 12 s ago, 5 min ago, or the date for anything older than a day. */
export function ago(iso: string, now = Date.now()): string {
  const s = Math.max(0, Math.round((now - Date.parse(iso)) / 1000));
  if (s < 60) return `${s} s ago`;
  if (s < 3600) return `${Math.floor(s / 60)} min ago`;
  if (s < 86_400) return `${Math.floor(s / 3600)} h ago`;
  return new Date(iso).toLocaleString();
}

/** JSON for display, cut to `max` characters. */
export function preview(value: unknown, max = 160): string {
  const text = JSON.stringify(value) ?? '';
  return text.length > max ? `${text.slice(0, max - 1)}…` : text;
}
