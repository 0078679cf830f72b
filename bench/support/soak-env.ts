/**
 * Imported before ./env.js by bench/soak.ts: the reaper warns on every lease it
 * expires, and the soak expires leases on purpose. Its own report is the output.
 */
process.env.LOG_LEVEL ??= 'error';
