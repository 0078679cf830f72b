/**
 * `watch`'s live screen on a terminal: log-update redraws the frame in place (only
 * the lines that changed) and `done` leaves the last one in the scrollback.
 */
import { createLogUpdate } from 'log-update';
import type { Screen } from './commands.js';

export function terminalScreen(stream: { write(chunk: string): unknown }): Screen {
  const update = createLogUpdate(stream as NodeJS.WriteStream, { showCursor: true });
  return { render: (frame) => update(frame), done: () => update.done() };
}
