import { useEffect, useRef, useState } from 'preact/hooks';

/**
 * Calls `tick` now and then every `ms` while `active`, one call at a time, skipping
 * ticks while the tab is hidden. Returns `poke`, which runs a tick at once (after
 * an action, so its effect shows without waiting for the next one).
 */
export function usePolling(tick: () => Promise<void>, ms: number, active: boolean): () => void {
  const latest = useRef(tick);
  latest.current = tick;
  const [pokes, setPokes] = useState(0);
  // Ticks queue behind each other, so a poke never overlaps a tick in flight.
  const inflight = useRef<Promise<void>>(Promise.resolve());
  useEffect(() => {
    if (!active) return;
    let timer: ReturnType<typeof setTimeout> | undefined;
    let stopped = false;
    const loop = async () => {
      if (!document.hidden) {
        inflight.current = inflight.current.then(() => latest.current()).catch(() => undefined);
        await inflight.current;
      }
      if (!stopped) timer = setTimeout(loop, ms);
    };
    void loop();
    return () => {
      stopped = true;
      clearTimeout(timer);
    };
  }, [active, ms, pokes]);
  return () => setPokes((n) => n + 1);
}

/** The current time, refreshed every `ms` (for durations of what still runs). */
export function useNow(ms: number, active: boolean): number {
  const [now, setNow] = useState(Date.now());
  useEffect(() => {
    if (!active) return;
    const timer = setInterval(() => setNow(Date.now()), ms);
    return () => clearInterval(timer);
  }, [ms, active]);
  return now;
}
