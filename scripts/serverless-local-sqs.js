// Local SQS for `serverless offline`: creates the AWS::SQS::Queue resources of
// serverless.yml on the endpoint named by AWS_ENDPOINT_URL_SQS, resolves their
// Ref / Fn::GetAtt in the functions' environment, and feeds each function's
// `sqs` events the way the Lambda event source mapping does: long poll → Invoke
// through offline's Lambda endpoint → delete only the records the function did
// not report in `batchItemFailures` (none if the invoke failed). Settings of the
// functions that only AWS can resolve take the local environment's value instead.
// serverless-offline-sqs is not used on purpose: it deletes the whole batch
// whatever the handler answers, so a failed record would be lost (DESIGN.md).
//
// Environment:
//   AWS_ENDPOINT_URL_SQS         local SQS endpoint; without it this plugin does nothing
//   FLOWLINE_LOCAL_SQS_POLLERS   concurrent pollers per event source (default 2)
//   FLOWLINE_LOCAL_SQS_WAIT_S    long-poll wait in seconds (default 1: quick shutdown)
//   FLOWLINE_LOCAL_QUEUES_FILE   if set, a JSON manifest of the created queues is written there
//   FLOWLINE_LOCAL_SQS_DEBUG=1   log every batch received, invoked and deleted
import { writeFile } from 'node:fs/promises';
import { InvokeCommand, LambdaClient } from '@aws-sdk/client-lambda';
import {
  CreateQueueCommand,
  DeleteMessageBatchCommand,
  GetQueueAttributesCommand,
  GetQueueUrlCommand,
  ReceiveMessageCommand,
  SetQueueAttributesCommand,
  SQSClient,
} from '@aws-sdk/client-sqs';

const LOCAL_CREDENTIALS = { accessKeyId: 'local', secretAccessKey: 'local' };

/** CloudFormation property → SQS attribute, for the properties that are attributes. */
const ATTRIBUTES = [
  'ContentBasedDeduplication',
  'DeduplicationScope',
  'DelaySeconds',
  'FifoQueue',
  'FifoThroughputLimit',
  'KmsDataKeyReusePeriodSeconds',
  'KmsMasterKeyId',
  'MaximumMessageSize',
  'MessageRetentionPeriod',
  'ReceiveMessageWaitTimeSeconds',
  'RedriveAllowPolicy',
  'RedrivePolicy',
  'SqsManagedSseEnabled',
  'VisibilityTimeout',
];

export default class ServerlessLocalSqs {
  constructor(serverless, cliOptions, utils) {
    this.serverless = serverless;
    this.cliOptions = cliOptions ?? {};
    this.log = utils?.log ?? console;
    /** @type {Map<string, {name: string, url: string, arn: string}>} logical id → queue */
    this.queues = new Map();
    this.abort = new AbortController();
    this.loops = [];
    this.debug = process.env.FLOWLINE_LOCAL_SQS_DEBUG === '1';
    this.hooks = {
      'offline:start:init': () => this.init(),
      'offline:start:ready': () => this.startPollers(),
      'offline:start:end': () => this.stop(),
    };
  }

  get endpoint() {
    return process.env.AWS_ENDPOINT_URL_SQS;
  }

  get region() {
    return this.serverless.service.provider.region ?? process.env.AWS_REGION ?? 'us-east-1';
  }

  /** Runs before serverless-offline builds its functions, so their environment sees the URLs. */
  async init() {
    if (!this.endpoint) {
      this.log.warning('local-sqs: AWS_ENDPOINT_URL_SQS is not set; sqs events are not wired');
      return;
    }
    const credentials = process.env.AWS_ACCESS_KEY_ID ? undefined : LOCAL_CREDENTIALS;
    this.sqs = new SQSClient({
      endpoint: this.endpoint,
      region: this.region,
      credentials,
      // Local queue URLs name hosts that need not resolve (fauxqs: sqs.<region>.localhost).
      useQueueUrlAsEndpoint: false,
    });
    await this.createQueues();
    this.resolveEnvironment();
    const file = process.env.FLOWLINE_LOCAL_QUEUES_FILE;
    if (file) await writeFile(file, JSON.stringify(Object.fromEntries(this.queues), null, 2));
  }

  async createQueues() {
    const service = this.serverless.service;
    const resources = service.resources?.Resources ?? {};
    const stage = service.provider.stage;
    const declared = Object.entries(resources).filter(([, r]) => r?.Type === 'AWS::SQS::Queue');
    // Two passes: a RedrivePolicy names its dead-letter queue by Fn::GetAtt, so
    // every queue exists before any attribute refers to another.
    for (const [id, resource] of declared) {
      const props = resource.Properties ?? {};
      const name = props.QueueName ?? `${service.service}-${stage}-${id}`;
      const url = await this.createQueue(name, this.attributes(props, false));
      const { Attributes } = await this.sqs.send(
        new GetQueueAttributesCommand({ QueueUrl: url, AttributeNames: ['QueueArn'] }),
      );
      this.queues.set(id, { name, url, arn: Attributes?.QueueArn ?? '' });
    }
    for (const [id, resource] of declared) {
      const referring = this.attributes(resource.Properties ?? {}, true);
      if (Object.keys(referring).length === 0) continue;
      const { url } = /** @type {{url: string}} */ (this.queues.get(id));
      await this.sqs.send(new SetQueueAttributesCommand({ QueueUrl: url, Attributes: referring }));
    }
    for (const [id, q] of this.queues) this.log.notice(`local-sqs: ${id} → ${q.url}`);
  }

  async createQueue(name, attributes) {
    try {
      const out = await this.sqs.send(
        new CreateQueueCommand({ QueueName: name, Attributes: attributes }),
      );
      return /** @type {string} */ (out.QueueUrl);
    } catch (err) {
      // A long-lived endpoint may already hold the queue with other attributes.
      if (!/QueueAlreadyExists|QueueNameExists/.test(String(err?.name ?? err))) throw err;
      const { QueueUrl } = await this.sqs.send(new GetQueueUrlCommand({ QueueName: name }));
      await this.sqs.send(new SetQueueAttributesCommand({ QueueUrl, Attributes: attributes }));
      return /** @type {string} */ (QueueUrl);
    }
  }

  /** The SQS attributes of a queue's properties: those that refer to other resources, or the rest. */
  attributes(props, referring) {
    const out = {};
    for (const key of ATTRIBUTES) {
      if (props[key] === undefined) continue;
      const isReferring = key === 'RedrivePolicy' || key === 'RedriveAllowPolicy';
      if (isReferring !== referring) continue;
      const value = this.resolve(props[key]);
      out[key] = typeof value === 'object' ? JSON.stringify(value) : String(value);
    }
    return out;
  }

  /** Replaces Ref / Fn::GetAtt of local queues (deeply); anything else is kept. */
  resolve(value) {
    if (Array.isArray(value)) return value.map((v) => this.resolve(v));
    if (value === null || typeof value !== 'object') return value;
    const keys = Object.keys(value);
    if (keys.length === 1 && keys[0] === 'Ref' && this.queues.has(value.Ref)) {
      return this.queues.get(value.Ref)?.url;
    }
    if (keys.length === 1 && keys[0] === 'Fn::GetAtt') {
      const [id, attr] = value['Fn::GetAtt'];
      const q = this.queues.get(id);
      if (q && attr === 'Arn') return q.arn;
      if (q && attr === 'QueueName') return q.name;
      if (q && attr === 'QueueUrl') return q.url;
    }
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, this.resolve(v)]));
  }

  resolveEnvironment() {
    const service = this.serverless.service;
    const provider = service.provider;
    if (provider.environment) provider.environment = this.localEnvironment(provider.environment);
    for (const key of service.getAllFunctions()) {
      const fn = service.getFunction(key);
      if (fn.environment) fn.environment = this.localEnvironment(fn.environment);
    }
  }

  /**
   * Local queues' Refs resolved; a value only AWS can resolve (e.g. the cache
   * endpoint's `Fn::If`) takes this process's variable of that name, or is left out.
   */
  localEnvironment(environment) {
    const out = {};
    for (const [name, value] of Object.entries(this.resolve(environment))) {
      if (value === null || typeof value !== 'object') out[name] = value;
      else if (process.env[name] !== undefined) out[name] = process.env[name];
    }
    return out;
  }

  offlineOptions() {
    const custom = this.serverless.service.custom?.['serverless-offline'] ?? {};
    return { ...custom, ...this.cliOptions };
  }

  startPollers() {
    if (!this.sqs) return;
    const { host = 'localhost', lambdaPort = 3002 } = this.offlineOptions();
    const lambdaHost = host === '0.0.0.0' ? '127.0.0.1' : host;
    this.lambda = new LambdaClient({
      endpoint: `http://${lambdaHost}:${lambdaPort}`,
      region: this.region,
      credentials: LOCAL_CREDENTIALS,
      // Invocations may last as long as the function's timeout; no SDK retries
      // either, a failed invoke leaves the batch to the visibility timeout as on AWS.
      maxAttempts: 1,
    });
    const pollers = Number(process.env.FLOWLINE_LOCAL_SQS_POLLERS ?? 2);
    const service = this.serverless.service;
    for (const key of service.getAllFunctions()) {
      const fn = service.getFunction(key);
      for (const event of fn.events ?? []) {
        if (!event.sqs) continue;
        const source = this.eventSource(event.sqs);
        if (!source) {
          this.log.warning(`local-sqs: cannot resolve the queue of ${key}'s sqs event; skipped`);
          continue;
        }
        const options = {
          functionName: fn.name,
          queue: source,
          batchSize: Math.min(Number(event.sqs.batchSize ?? 10), 10),
          reportFailures: event.sqs.functionResponseType === 'ReportBatchItemFailures',
          enabled: event.sqs.enabled !== false,
        };
        if (!options.enabled) continue;
        for (let i = 0; i < pollers; i++) this.loops.push(this.poll(options));
        this.log.notice(`local-sqs: ${source.name} → ${fn.name} (${pollers} pollers)`);
      }
    }
  }

  eventSource(sqs) {
    const arn = typeof sqs === 'string' ? sqs : this.resolve(sqs.arn);
    if (typeof arn !== 'string') return undefined;
    for (const q of this.queues.values()) if (q.arn === arn) return q;
    // A plain ARN of a queue not declared in resources: look it up by name.
    const name = arn.split(':').pop();
    return name ? { name, arn, url: undefined } : undefined;
  }

  async poll(options) {
    const { signal } = this.abort;
    const queue = options.queue;
    while (!signal.aborted) {
      try {
        if (!queue.url) {
          const out = await this.sqs.send(new GetQueueUrlCommand({ QueueName: queue.name }));
          queue.url = out.QueueUrl;
        }
        const { Messages = [] } = await this.sqs.send(
          new ReceiveMessageCommand({
            QueueUrl: queue.url,
            MaxNumberOfMessages: options.batchSize,
            WaitTimeSeconds: Number(process.env.FLOWLINE_LOCAL_SQS_WAIT_S ?? 1),
            MessageSystemAttributeNames: ['All'],
            MessageAttributeNames: ['All'],
          }),
          { abortSignal: signal },
        );
        if (Messages.length > 0) await this.deliver(options, Messages);
      } catch (err) {
        if (signal.aborted) break;
        this.log.error(`local-sqs: ${queue.name}: ${err?.message ?? err}`);
        await sleep(1000, signal);
      }
    }
  }

  async deliver(options, messages) {
    const { queue } = options;
    const event = { Records: messages.map((m) => toRecord(m, queue.arn, this.region)) };
    const ids = messages.map((m) => m.MessageId).join(',');
    if (this.debug) this.log.notice(`local-sqs: received [${ids}] from ${queue.name}`);
    let failed;
    try {
      const out = await this.lambda.send(
        new InvokeCommand({
          FunctionName: options.functionName,
          InvocationType: 'RequestResponse',
          Payload: Buffer.from(JSON.stringify(event)),
        }),
      );
      const text = out.Payload ? Buffer.from(out.Payload).toString('utf8') : '';
      if (out.FunctionError) {
        this.log.error(
          `local-sqs: ${options.functionName} failed (${out.FunctionError}); batch of ${messages.length} left for redelivery: ${text.slice(0, 500)}`,
        );
        return;
      }
      failed = options.reportFailures ? batchItemFailures(text, messages) : new Set();
    } catch (err) {
      // Thrown on abort too: the batch stays in flight until its visibility timeout.
      if (!this.abort.signal.aborted) {
        this.log.error(`local-sqs: invoke ${options.functionName}: ${err?.message ?? err}`);
      }
      return;
    }
    if (this.debug) {
      const f = failed === 'all' ? 'all' : [...failed].join(',');
      this.log.notice(`local-sqs: invoked ${options.functionName} with [${ids}], failed [${f}]`);
    }
    if (failed === 'all') return;
    const done = messages.filter((m) => !failed.has(m.MessageId));
    if (done.length === 0) return;
    const out = await this.sqs.send(
      new DeleteMessageBatchCommand({
        QueueUrl: queue.url,
        Entries: done.map((m, i) => ({ Id: String(i), ReceiptHandle: m.ReceiptHandle })),
      }),
    );
    for (const f of out.Failed ?? []) {
      this.log.error(`local-sqs: delete failed: ${f.Code} ${f.Message ?? ''}`);
    }
  }

  async stop() {
    this.abort.abort();
    await Promise.allSettled(this.loops);
    this.sqs?.destroy();
    this.lambda?.destroy();
  }
}

/**
 * The ids a function reported as failed, following Lambda: an unparsable answer
 * or an unknown/empty itemIdentifier fails the whole batch.
 * @returns {Set<string> | 'all'}
 */
function batchItemFailures(text, messages) {
  if (text === '' || text === 'null') return new Set();
  let answer;
  try {
    answer = JSON.parse(text);
  } catch {
    return new Set();
  }
  const list = answer?.batchItemFailures;
  if (list === undefined || list === null) return new Set();
  if (!Array.isArray(list)) return 'all';
  const ids = new Set(messages.map((m) => m.MessageId));
  const failed = new Set();
  for (const item of list) {
    const id = item?.itemIdentifier;
    if (typeof id !== 'string' || !ids.has(id)) return 'all';
    failed.add(id);
  }
  return failed;
}

/** An SQS message as Lambda's event source mapping hands it over. */
function toRecord(m, arn, region) {
  const messageAttributes = {};
  for (const [k, v] of Object.entries(m.MessageAttributes ?? {})) {
    messageAttributes[k] = {
      stringValue: v.StringValue,
      binaryValue: v.BinaryValue ? Buffer.from(v.BinaryValue).toString('base64') : undefined,
      stringListValues: v.StringListValues ?? [],
      binaryListValues: (v.BinaryListValues ?? []).map((b) => Buffer.from(b).toString('base64')),
      dataType: v.DataType,
    };
  }
  return {
    messageId: m.MessageId,
    receiptHandle: m.ReceiptHandle,
    body: m.Body ?? '',
    attributes: m.Attributes ?? {},
    messageAttributes,
    md5OfBody: m.MD5OfBody,
    ...(m.MD5OfMessageAttributes ? { md5OfMessageAttributes: m.MD5OfMessageAttributes } : {}),
    eventSource: 'aws:sqs',
    eventSourceARN: arn,
    awsRegion: region,
  };
}

function sleep(ms, signal) {
  return new Promise((resolve) => {
    const t = setTimeout(resolve, ms);
    signal.addEventListener(
      'abort',
      () => {
        clearTimeout(t);
        resolve();
      },
      { once: true },
    );
  });
}
