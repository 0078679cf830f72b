import middy from '@middy/core';

/**
 * Placeholder of the runner function (the commands of `shell` steps), so the
 * stack deploys with its role and settings; the runner branch replaces it.
 */
export const handler = middy().handler(async () => ({
  exitCode: 127,
  stdout: '',
  stderr: 'runner not implemented',
}));
