// The Resource list of the execute role's lambda:InvokeFunction statement:
// the runner, plus every function FLOWLINE_LAMBDA_ALLOW (deploy param
// `lambdaAllow`) lets `lambda:` steps invoke — full names or globs, comma-separated,
// the same setting the engine checks at run time. Each entry covers the function
// and its versions/aliases (`name:*`). serverless.yml resolves this file through
// `${file(...)}`; deploy/iam.yml denies flowline's own functions whatever it allows.
'use strict';

const NAME = /^[A-Za-z0-9_*?-]{1,140}$/;

function functionArn(name) {
  return {
    'Fn::Sub': `arn:\${AWS::Partition}:lambda:\${AWS::Region}:\${AWS::AccountId}:function:${name}`,
  };
}

/** `a, b*` → ['a', 'b*']; anything that is not a function name or glob is an error. */
function allowedNames(setting) {
  const names = String(setting ?? '')
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);
  for (const name of names) {
    if (!NAME.test(name)) {
      throw new Error(
        `lambdaAllow: '${name}' is not a function name or glob ([A-Za-z0-9_-], * and ?)`,
      );
    }
    // Every function of the account is what lambda:InvokeFunction on * would be.
    if (/^[*?]+$/.test(name)) throw new Error(`lambdaAllow: '${name}' would allow every function`);
  }
  return names;
}

function invokeResources(runner, setting) {
  const arns = [functionArn(runner)];
  for (const name of allowedNames(setting)) arns.push(functionArn(name), functionArn(`${name}:*`));
  return arns;
}

module.exports = async ({ resolveVariable }) =>
  invokeResources(
    await resolveVariable('self:custom.runnerFunction'),
    await resolveVariable('param:lambdaAllow'),
  );
module.exports.invokeResources = invokeResources;
