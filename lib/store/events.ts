/**
 * How a run's events sit in its stream (lua/includes/emit.lua): one entry per
 * transition, `at` once, then per event `type` and its `job`, `step`, `data`. An
 * event's id in the API is `<entry ms>-<entry seq × EVENT_SLOTS + its place in the
 * entry>`, so ids keep the stream's order and the `<ms>-<n>` form; an entry holds
 * at most EVENTS_PER_ENTRY events (< EVENT_SLOTS; a bigger transition takes more
 * entries), few enough for Lua's unpack.
 */
export const EVENT_SLOTS = 1000;
export const EVENTS_PER_ENTRY = 500;
