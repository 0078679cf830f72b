/**
 * Process settings the benchmarks need before any flowline module is evaluated, so
 * every bench script imports this file first. lib/log.ts reads LOG_LEVEL when it
 * loads (an info line per job would measure pino, not the engine), and the AWS SDK
 * insists on credentials even for the local SQS, which ignores them. The benches
 * never talk to AWS, so fixed dummy credentials are safer than whatever is in env.
 */
process.env.LOG_LEVEL ??= 'warn';
// The SDK's "Node 20 support ends in 2027" notice would print in every bench's output.
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED = 'true';
// Engine code records run metrics; outside a Lambda handler nothing flushes them per
// invocation, and Powertools' own flush at 100 values would print EMF into the tables.
process.env.POWERTOOLS_METRICS_DISABLED = 'true';
process.env.AWS_ACCESS_KEY_ID = 'test';
process.env.AWS_SECRET_ACCESS_KEY = 'test';
process.env.AWS_REGION = 'us-east-1';
delete process.env.AWS_PROFILE;
delete process.env.AWS_SESSION_TOKEN;
