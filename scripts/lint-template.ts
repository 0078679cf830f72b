// Checks a CloudFormation template (by default the one `serverless package`
// writes) against the CloudFormation resource specification shipped in
// @aws-cdk/aws-service-spec: every resource type, every property name at every
// depth, required properties, GetAtt attributes; plus checks of our own: every
// Ref / GetAtt / Sub / DependsOn / Condition target exists, and no literal secret
// (a password, token or key list) sits in the template.
//
//   node --import tsx scripts/lint-template.ts [template.json]   (exit 1 on findings)

import { realpathSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { pathToFileURL } from 'node:url';
import { loadAwsServiceSpec } from '@aws-cdk/aws-service-spec';
import type { PropertyType, SpecDatabase, TypeDefinition } from '@aws-cdk/service-spec-types';
import { closest } from '../lib/suggest.js';

export interface Finding {
  /** Where, e.g. `Resources.Cache.Properties.SubnetIds`. */
  path: string;
  message: string;
}

type Json = unknown;
type Props = Record<string, { type: PropertyType; required?: boolean }>;

const TOP_LEVEL = new Set([
  'AWSTemplateFormatVersion',
  'Description',
  'Metadata',
  'Parameters',
  'Rules',
  'Mappings',
  'Conditions',
  'Transform',
  'Resources',
  'Outputs',
]);
const RESOURCE_KEYS = new Set([
  'Type',
  'Properties',
  'DependsOn',
  'Condition',
  'DeletionPolicy',
  'UpdateReplacePolicy',
  'Metadata',
  'CreationPolicy',
  'UpdatePolicy',
]);
const PSEUDO =
  /^AWS::(AccountId|NotificationARNs|NoValue|Partition|Region|StackId|StackName|URLSuffix)$/;
/** Properties whose literal value would be a secret in the template. */
const SECRET_PROPERTY = /^(Password|Passwords|MasterUserPassword|AuthToken|SecretString)$/;
/** Environment variables whose literal value would be a secret. */
const SECRET_VARIABLE = /(PASSWORD|TOKEN|API_KEYS|SECRET_KEY|PRIVATE_KEY)$/;
const CREDENTIALS_IN_URL = /[a-z][a-z0-9+.-]*:\/\/[^\s/:@]+:[^\s/@]+@/i;

const isObject = (v: Json): v is Record<string, Json> =>
  typeof v === 'object' && v !== null && !Array.isArray(v);

/** `{ "Fn::X": … }` or `{ Ref: … }` or `{ Condition: … }` (inside condition functions). */
function intrinsic(v: Json): [string, Json] | undefined {
  if (!isObject(v)) return undefined;
  const keys = Object.keys(v);
  const [key] = keys;
  if (keys.length !== 1 || key === undefined) return undefined;
  return key === 'Ref' || key === 'Condition' || key.startsWith('Fn::') ? [key, v[key]] : undefined;
}

/** A `{{resolve:secretsmanager:…}}` / `{{resolve:ssm-secure:…}}` reference, or an intrinsic. */
const isIndirect = (v: Json): boolean =>
  intrinsic(v) !== undefined || (typeof v === 'string' && /^\{\{resolve:/.test(v));

export function lintTemplate(template: Json, db: SpecDatabase): Finding[] {
  const findings: Finding[] = [];
  const add = (path: string, message: string): void => {
    findings.push({ path, message });
  };
  if (!isObject(template)) return [{ path: '', message: 'the template is not a JSON object' }];
  for (const key of Object.keys(template)) {
    if (!TOP_LEVEL.has(key)) add(key, `unknown top-level section '${key}'`);
  }
  const resources = isObject(template.Resources) ? template.Resources : {};
  const parameters = isObject(template.Parameters) ? template.Parameters : {};
  const conditions = isObject(template.Conditions) ? template.Conditions : {};
  if (Object.keys(resources).length === 0) add('Resources', 'no resources');

  const typeOf = (id: string) => {
    const r = resources[id];
    return isObject(r) && typeof r.Type === 'string' ? r.Type : undefined;
  };
  const specOf = (type: string) => db.lookup('resource', 'cloudFormationType', 'equals', type)[0];
  const isCustom = (type: string) =>
    type.startsWith('Custom::') || type === 'AWS::CloudFormation::CustomResource';

  // --- references -----------------------------------------------------------
  const checkRef = (path: string, name: Json) => {
    if (typeof name !== 'string') return add(path, 'Ref takes a name');
    if (!(name in resources) && !(name in parameters) && !PSEUDO.test(name)) {
      add(path, `Ref to '${name}', which is no resource, parameter or pseudo parameter`);
    }
  };
  const checkGetAtt = (path: string, id: string, attribute: string) => {
    const type = typeOf(id);
    if (!type) return add(path, `GetAtt of '${id}', which is no resource`);
    if (isCustom(type)) return;
    const spec = specOf(type);
    if (spec && !(attribute in spec.attributes)) {
      add(path, `GetAtt ${id}.${attribute}: ${type} has no attribute '${attribute}'`);
    }
  };
  const checkCondition = (path: string, name: Json) => {
    if (typeof name !== 'string' || !(name in conditions)) {
      add(path, `condition '${String(name)}' is not defined in Conditions`);
    }
  };
  const checkSub = (path: string, arg: Json) => {
    const [text, vars] = Array.isArray(arg) ? arg : [arg, {}];
    if (typeof text !== 'string') return;
    const local = isObject(vars) ? vars : {};
    for (const [, ref] of text.matchAll(/\$\{([^!}][^}]*)\}/g)) {
      const name = String(ref).trim();
      if (name in local) continue;
      const dot = name.indexOf('.');
      if (dot > 0) checkGetAtt(path, name.slice(0, dot), name.slice(dot + 1));
      else checkRef(path, name);
    }
  };
  /** Every intrinsic anywhere under `value`. */
  const walk = (path: string, value: Json): void => {
    const fn = intrinsic(value);
    if (fn) {
      const [name, arg] = fn;
      if (name === 'Ref') checkRef(path, arg);
      else if (name === 'Condition') checkCondition(path, arg);
      else if (name === 'Fn::GetAtt') {
        const [id, ...rest] = Array.isArray(arg) ? arg : String(arg).split('.');
        checkGetAtt(path, String(id), rest.join('.'));
      } else if (name === 'Fn::Sub') checkSub(path, arg);
      else if (name === 'Fn::If' && Array.isArray(arg)) checkCondition(path, arg[0]);
      if (name !== 'Ref' && name !== 'Condition') walk(`${path}.${name}`, arg);
      return;
    }
    if (Array.isArray(value)) for (const [i, v] of value.entries()) walk(`${path}[${i}]`, v);
    else if (isObject(value)) for (const [k, v] of Object.entries(value)) walk(`${path}.${k}`, v);
    else if (typeof value === 'string' && CREDENTIALS_IN_URL.test(value)) {
      add(path, 'a URL with credentials in it');
    }
  };

  // --- properties against the specification ----------------------------------
  const checkProps = (path: string, value: Json, props: Props) => {
    if (intrinsic(value)) return checkValue(path, value, undefined);
    if (!isObject(value)) return add(path, 'expected an object of properties');
    for (const [name, v] of Object.entries(value)) {
      const prop = props[name];
      if (!prop) {
        const near = closest(name, Object.keys(props), 3);
        add(
          `${path}.${name}`,
          `unknown property '${name}'${near ? ` (did you mean '${near}'?)` : ''}`,
        );
        continue;
      }
      checkValue(`${path}.${name}`, v, prop.type);
      if (SECRET_PROPERTY.test(name)) checkNotLiteral(`${path}.${name}`, v);
    }
    for (const [name, prop] of Object.entries(props)) {
      if (prop.required && !(name in value)) add(path, `missing required property '${name}'`);
    }
  };
  const checkValue = (path: string, value: Json, type: PropertyType | undefined): void => {
    const fn = intrinsic(value);
    if (fn) {
      // Both branches of an If must fit the property; other intrinsics are opaque.
      if (fn[0] === 'Fn::If' && Array.isArray(fn[1])) {
        for (const branch of fn[1].slice(1)) checkValue(`${path}.Fn::If`, branch, type);
      }
      return;
    }
    if (!type) return;
    switch (type.type) {
      case 'ref': {
        const def = db.get('typeDefinition', type.reference.$ref) as TypeDefinition;
        checkProps(path, value, def.properties as Props);
        return;
      }
      case 'array':
        if (!Array.isArray(value)) add(path, 'expected a list');
        else for (const [i, v] of value.entries()) checkValue(`${path}[${i}]`, v, type.element);
        return;
      case 'map':
        if (!isObject(value)) add(path, 'expected a map');
        else
          for (const [k, v] of Object.entries(value)) checkValue(`${path}.${k}`, v, type.element);
        return;
      case 'union': {
        const refs = type.types.filter((t) => t.type === 'ref');
        if (isObject(value) && refs.length === 1) checkValue(path, value, refs[0]);
        return;
      }
      case 'json':
        return;
      case 'tag':
        checkProps(path, value, {
          Key: { type: { type: 'string' }, required: true },
          Value: { type: { type: 'string' }, required: true },
        });
        return;
      default:
        // string, number, integer, boolean, date-time: CloudFormation converts between them.
        if (typeof value === 'object' && value !== null) add(path, `expected a ${type.type}`);
    }
  };
  const checkNotLiteral = (path: string, value: Json) => {
    const values = Array.isArray(value) ? value : [value];
    for (const v of values) {
      if (!isIndirect(v) && !(isObject(v) && !intrinsic(v))) {
        add(path, 'a literal secret: use a {{resolve:secretsmanager:…}} reference');
      }
    }
  };

  for (const [id, resource] of Object.entries(resources)) {
    const path = `Resources.${id}`;
    if (!isObject(resource)) {
      add(path, 'not an object');
      continue;
    }
    for (const key of Object.keys(resource)) {
      if (!RESOURCE_KEYS.has(key)) add(`${path}.${key}`, `unknown resource attribute '${key}'`);
    }
    if (resource.Condition !== undefined) checkCondition(`${path}.Condition`, resource.Condition);
    const dependsOn = resource.DependsOn === undefined ? [] : [resource.DependsOn].flat();
    for (const dep of dependsOn) {
      if (typeof dep !== 'string' || !(dep in resources)) {
        add(`${path}.DependsOn`, `depends on '${String(dep)}', which is no resource`);
      }
    }
    walk(`${path}.Properties`, resource.Properties ?? {});
    const type = typeof resource.Type === 'string' ? resource.Type : '';
    if (isCustom(type)) continue;
    const spec = specOf(type);
    if (!spec) {
      add(`${path}.Type`, `unknown resource type '${type}'`);
      continue;
    }
    checkProps(`${path}.Properties`, resource.Properties ?? {}, spec.properties as Props);
    checkEnvironment(path, resource, add);
  }
  for (const [name, output] of Object.entries(isObject(template.Outputs) ? template.Outputs : {})) {
    if (isObject(output) && output.Condition !== undefined) {
      checkCondition(`Outputs.${name}.Condition`, output.Condition);
    }
    walk(`Outputs.${name}`, output);
  }
  for (const [name, condition] of Object.entries(conditions)) walk(`Conditions.${name}`, condition);
  return findings;
}

/** Lambda environment variables that name a secret must not hold one. */
function checkEnvironment(
  path: string,
  resource: Record<string, Json>,
  add: (path: string, message: string) => void,
) {
  if (resource.Type !== 'AWS::Lambda::Function' || !isObject(resource.Properties)) return;
  const env = resource.Properties.Environment;
  const vars = isObject(env) && isObject(env.Variables) ? env.Variables : {};
  for (const [name, value] of Object.entries(vars)) {
    if (SECRET_VARIABLE.test(name) && typeof value === 'string' && value !== '') {
      add(
        `${path}.Properties.Environment.Variables.${name}`,
        'a literal secret in the environment',
      );
    }
  }
}

export async function lintTemplateFile(file: string): Promise<Finding[]> {
  const [text, db] = await Promise.all([readFile(file, 'utf8'), loadAwsServiceSpec()]);
  return lintTemplate(JSON.parse(text), db);
}

function isEntry(): boolean {
  const entry = process.argv[1];
  try {
    return entry !== undefined && import.meta.url === pathToFileURL(realpathSync(entry)).href;
  } catch {
    return false;
  }
}

if (isEntry()) {
  const file = process.argv[2] ?? '.serverless/cloudformation-template-update-stack.json';
  const findings = await lintTemplateFile(file);
  for (const f of findings) console.log(`${f.path}: ${f.message}`);
  console.log(`${file}: ${findings.length} finding(s)`);
  process.exitCode = findings.length === 0 ? 0 : 1;
}
