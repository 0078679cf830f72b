import { en } from 'zod/locales';
import { config } from 'zod/mini';

/**
 * English issue messages for the zod/mini schemas (config, queue message, runner
 * request). Classic zod sets the same locale when it is imported; zod/mini leaves
 * it unset (every issue would read "Invalid input"). Both share one global config.
 */
config(en());
