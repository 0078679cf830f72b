// `npm run dev`: the whole local stack on :3000 (API) and :3002 (Lambda Invoke),
// until Ctrl-C. Uses REDIS_URL when set, else a private redis-server whose data
// (append-only file) stays in .flowline/redis across restarts; `--fresh` starts empty.
// The keys of FLOWLINE_API_KEYS in the environment are accepted besides the local one.
import { rm } from 'node:fs/promises';
import { join, relative } from 'node:path';
import { sayAwsNodeSupportOnce } from './processes.js';
import { apiKeyPairs, ROOT, type Stack, startStack } from './stack.js';

const nodeNote = sayAwsNodeSupportOnce();
if (nodeNote) console.log(nodeNote);

const fresh = process.argv.includes('--fresh');
const redisDataDir = join(ROOT, '.flowline', 'redis');
if (fresh) await rm(redisDataDir, { recursive: true, force: true });
const userKeys = apiKeyPairs(process.env.FLOWLINE_API_KEYS);

const port = (name: string, fallback: number) => Number(process.env[name] ?? fallback);

let stack: Stack | undefined;
let stopping = false;
async function shutdown(code: number) {
  if (stopping) return;
  stopping = true;
  console.log('\nstopping the local stack…');
  await stack?.stop();
  process.exit(code);
}
process.on('SIGINT', () => void shutdown(0));
process.on('SIGTERM', () => void shutdown(0));
// `npm run` puts a shell between npm and this process that does not pass signals
// on: when npm is stopped the shell goes and this process is re-parented. Follow it.
const parent = process.ppid;
setInterval(() => {
  if (process.ppid !== parent) void shutdown(0);
}, 1000).unref();

try {
  stack = await startStack({
    httpPort: port('FLOWLINE_HTTP_PORT', 3000),
    lambdaPort: port('FLOWLINE_LAMBDA_PORT', 3002),
    redisUrl: process.env.REDIS_URL,
    redisDataDir,
    apiKeys: userKeys,
    logLevel: process.env.LOG_LEVEL,
    onLog: (line) => {
      if (process.env.FLOWLINE_DEV_QUIET !== '1') console.log(`[offline] ${line}`);
    },
  });
} catch (err) {
  console.error(err instanceof Error ? err.message : err);
  await shutdown(1);
}

if (stack && !stopping) {
  const keys = userKeys.length > 0 ? ` and the ${userKeys.length} of FLOWLINE_API_KEYS` : '';
  const state = process.env.REDIS_URL
    ? `in ${process.env.REDIS_URL}`
    : `in ${relative(ROOT, redisDataDir)} across restarts${fresh ? ' (started fresh)' : ''}; npm run dev -- --fresh starts empty`;
  console.log(`\nkeys accepted: the local key${keys}\nstate kept ${state}`);
}

if (stack && !stopping) {
  const { apiUrl, apiKey } = stack;
  const auth = `-H 'Authorization: Bearer ${apiKey}'`;
  console.log(`
flowline local stack ready in ${(stack.readyMs / 1000).toFixed(1)} s

  API         ${apiUrl}
  Web UI      ${apiUrl}/ui#key=${encodeURIComponent(apiKey)}
  API key     ${apiKey}   (tenant "${stack.tenant}", kept in .flowline/local-api-key)
  Redis       ${stack.redisUrl}
  SQS         ${stack.sqsEndpoint}  queue ${stack.queueUrl}
  Secrets     ${stack.secretsEndpoint}  (from FLOWLINE_SECRETS_FILE or .secrets.local.json)
  Lambda      ${stack.lambdaEndpoint}  (FunctionName flowline-${stack.stage}-<fn>)
  Log         ${relative(ROOT, stack.logFile)}

Try:
  curl -sS -X PUT ${apiUrl}/v1/workflows/diamond ${auth} -H 'Content-Type: application/yaml' --data-binary @examples/diamond.yml
  curl -sS -X POST ${apiUrl}/v1/workflows/diamond/runs ${auth} -H 'Content-Type: application/json' -d '{}'
  curl -sS ${apiUrl}/v1/runs/<id> ${auth}

Ctrl-C stops everything.
`);
}
