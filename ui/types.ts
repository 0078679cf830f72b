/** The shapes of API.md's answers that the page reads: the server's own (lib/api/documents.ts). */
export type {
  ErrorDoc,
  EventDoc,
  EventPage,
  JobDoc,
  RerunSummary,
  RunDoc,
  RunPage,
  RunSummary,
  StepDoc,
  WaitingFor,
  WorkflowDoc,
  WorkflowSummary,
} from '../lib/api/documents.js';
export { isFinalStatus } from '../lib/api/documents.js';
