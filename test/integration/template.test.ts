import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { loadAwsServiceSpec } from '@aws-cdk/aws-service-spec';
import type { SpecDatabase } from '@aws-cdk/service-spec-types';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Finding, lintTemplate } from '../../scripts/lint-template.js';
import { ROOT } from '../../scripts/stack.js';

/**
 * `serverless package` (no AWS credentials) builds the deployable template, and
 * the template linter (scripts/lint-template.ts, against @aws-cdk/aws-service-spec)
 * finds nothing in it; a broken copy is flagged.
 */
const SERVERLESS = join(ROOT, 'node_modules', 'serverless', 'bin', 'serverless.js');

interface Statement {
  Action: string | string[];
  Resource: unknown;
}
interface Resource {
  Type: string;
  // A template is JSON of many shapes; each test reads the fields it checks.
  // biome-ignore lint/suspicious/noExplicitAny: see above
  Properties: Record<string, any>;
}
type Template = { Resources: Record<string, Resource> };

/** The statements of a role's inline policies. */
const statementsOf = (role: Resource | undefined): Statement[] =>
  (role?.Properties.Policies ?? []).flatMap(
    (p: { PolicyDocument: { Statement: Statement[] } }) => p.PolicyDocument.Statement,
  );
let template: Template;
let db: SpecDatabase;
let outDir: string;
const buildDir = `.flowline/build-template-${process.pid}`;

async function packageStack(dir: string): Promise<Template> {
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    AWS_REGION: 'eu-west-3',
    FLOWLINE_ESBUILD_DIR: buildDir,
    SLS_TELEMETRY_DISABLED: '1',
    SLS_NOTIFICATIONS_MODE: 'off',
  };
  // No credentials of any kind: packaging must not need them.
  for (const name of Object.keys(env)) {
    if (
      /^AWS_(ACCESS_KEY_ID|SECRET_ACCESS_KEY|SESSION_TOKEN|PROFILE|DEFAULT_PROFILE)$/.test(name)
    ) {
      delete env[name];
    }
  }
  await promisify(execFile)(process.execPath, [SERVERLESS, 'package', '--package', dir], {
    cwd: ROOT,
    env,
    maxBuffer: 16 * 1024 * 1024,
  });
  const file = join(dir, 'cloudformation-template-update-stack.json');
  return JSON.parse(await readFile(file, 'utf8')) as Template;
}

beforeAll(async () => {
  outDir = await mkdtemp(join(tmpdir(), 'flowline-package-'));
  [template, db] = await Promise.all([packageStack(outDir), loadAwsServiceSpec()]);
}, 180_000);

afterAll(async () => {
  await rm(outDir, { recursive: true, force: true });
  await rm(join(ROOT, buildDir), { recursive: true, force: true });
});

const resourcesOf = (type: string) =>
  Object.entries(template.Resources).filter(([, r]) => r.Type === type);

describe('the packaged CloudFormation template', () => {
  it('has no findings against the CloudFormation resource specification', () => {
    expect(lintTemplate(template, db)).toEqual([]);
  });

  it('holds the whole stack: VPC, endpoints, cache, its user and secret, roles, alarms', () => {
    const types = new Set(Object.values(template.Resources).map((r) => r.Type));
    for (const type of [
      'AWS::EC2::VPC',
      'AWS::EC2::VPCEndpoint',
      'AWS::ElastiCache::ServerlessCache',
      'AWS::ElastiCache::User',
      'AWS::ElastiCache::UserGroup',
      'AWS::SecretsManager::Secret',
      'AWS::CloudWatch::Alarm',
    ]) {
      expect(types).toContain(type);
    }
    expect(resourcesOf('AWS::EC2::VPCEndpoint').map(([, r]) => r.Properties.ServiceName)).toEqual(
      ['sqs', 'secretsmanager', 'lambda'].map((s) => ({
        'Fn::Sub': `com.amazonaws.\${AWS::Region}.${s}`,
      })),
    );
  });

  it('gives each function its own role, and no one lambda:InvokeFunction on *', () => {
    const functions = resourcesOf('AWS::Lambda::Function');
    expect(functions).toHaveLength(5);
    const roles = functions.map(([, f]) => f.Properties.Role['Fn::GetAtt'][0]);
    expect(new Set(roles).size).toBe(5);
    const statements = resourcesOf('AWS::IAM::Role').flatMap(([, r]) => statementsOf(r));
    const invoke = statements.filter((s) => [s.Action].flat().includes('lambda:InvokeFunction'));
    expect(invoke.length).toBeGreaterThan(0);
    for (const s of invoke) expect([s.Resource].flat()).not.toContain('*');
  });

  it('keeps the runner out of the VPC, without flowline settings or permissions', () => {
    const runner = template.Resources.RunnerLambdaFunction?.Properties;
    expect(runner?.VpcConfig).toBeUndefined();
    expect(Object.keys(runner?.Environment?.Variables ?? {})).toEqual(['NODE_OPTIONS']);
    const role = template.Resources.RunnerRole;
    const actions = statementsOf(role).flatMap((s) => [s.Action].flat());
    expect(actions).toEqual(['logs:CreateLogStream', 'logs:PutLogEvents']);
    expect(role?.Properties.ManagedPolicyArns).toBeUndefined();
  });

  it('flags a misspelt property, a missing required one, a dangling Ref and a literal password', () => {
    const broken = structuredClone(template);
    const props = (id: string) => broken.Resources[id]?.Properties ?? {};
    props('Cache').ServerlessCacheNme = props('Cache').ServerlessCacheName;
    delete props('Cache').ServerlessCacheName;
    delete props('RedisDefaultUser').Engine;
    props('PrivateSubnetA').VpcId = { Ref: 'Vcp' };
    props('RedisUser').AuthenticationMode.Passwords = ['hunter2hunter2hunter2'];
    const found = (path: string, text: string) => (f: Finding) =>
      f.path === path && f.message.includes(text);
    const findings = lintTemplate(broken, db);
    expect(findings).toHaveLength(5);
    expect(findings).toEqual(
      expect.arrayContaining([
        expect.objectContaining({
          path: 'Resources.Cache.Properties.ServerlessCacheNme',
          message: "unknown property 'ServerlessCacheNme' (did you mean 'ServerlessCacheName'?)",
        }),
      ]),
    );
    expect(findings.some(found('Resources.Cache.Properties', "'ServerlessCacheName'"))).toBe(true);
    expect(findings.some(found('Resources.RedisDefaultUser.Properties', "'Engine'"))).toBe(true);
    expect(findings.some(found('Resources.PrivateSubnetA.Properties.VpcId', "'Vcp'"))).toBe(true);
    expect(
      findings.some(
        found('Resources.RedisUser.Properties.AuthenticationMode.Passwords', 'literal secret'),
      ),
    ).toBe(true);
  });

  it('flags an unknown resource type and a GetAtt of an attribute the type does not have', () => {
    const findings = lintTemplate(
      {
        Resources: {
          Q: { Type: 'AWS::SQS::Queue', Properties: {} },
          Bad: { Type: 'AWS::SQS::Queu', Properties: {} },
        },
        Outputs: { Url: { Value: { 'Fn::GetAtt': ['Q', 'Url'] } } },
      },
      db,
    );
    expect(findings).toEqual([
      { path: 'Resources.Bad.Type', message: "unknown resource type 'AWS::SQS::Queu'" },
      {
        path: 'Outputs.Url.Value',
        message: "GetAtt Q.Url: AWS::SQS::Queue has no attribute 'Url'",
      },
    ]);
  });
});
