/**
 * AWS API Gateway (REST API) as a CloudFormation template: a RestApi per API with a resource
 * tree and HTTP_PROXY methods for the routes, a usage plan per tier (throttle rate + burst and
 * a day/week/month quota), an API key per consumer key, and gateway responses that give the
 * statuses Tollgate gives (401 for a bad key, 404 for no route, 429 when throttled).
 *
 * Guarantees: without `includeKeys` the ApiKey resources carry no `Value`, so AWS generates
 * fresh keys and none of the policy's keys leaves this machine.
 */

import YAML from 'yaml';
import type { ApiDefinition, Policy } from '../policies/schema.ts';
import { beginExport, explicitMethods, warnRouteCosts } from './model.ts';
import { deniedRoutes, usagePlanLimits } from './aws-usage-plans.ts';
import { openApiPath } from './openapi.ts';
import type { WarningList, ExportOptions, ExportResult } from './types.ts';

type Doc = Record<string, unknown>;

const STAGE = 'prod';

export function exportAws(policy: Policy, options: ExportOptions = {}): ExportResult {
  const { warnings, views } = beginExport(policy, 'aws', 'API Gateway', options);

  const resources: Record<string, Doc> = {};
  const stages: {
    api: ApiDefinition;
    restApi: string;
    stage: string;
    methodKeys: Map<string, string[]>;
  }[] = [];
  for (const [a, api] of policy.apis.entries()) {
    stages.push(restApi(policy, api, a, resources, warnings));
  }

  for (const view of views) {
    const plan = `${logicalId(view.tier.name)}UsagePlan`;
    resources[plan] = {
      Type: 'AWS::ApiGateway::UsagePlan',
      DependsOn: stages.map((s) => s.stage),
      Properties: {
        UsagePlanName: view.tier.name,
        Description: `Tollgate tier "${view.tier.name}"`,
        ApiStages: stages.map((s) => ({
          ApiId: { Ref: s.restApi },
          Stage: STAGE,
          ...deniedRoutes(view, s.api, s.methodKeys, warnings),
        })),
        ...usagePlanLimits(policy, view, warnings),
      },
    };

    for (const consumer of view.consumers) {
      const keys = options.includeKeys && consumer.keys.length > 0 ? consumer.keys : [undefined];
      for (const [k, key] of keys.entries()) {
        const id = uniqueId(resources, `${logicalId(consumer.name)}Key${k === 0 ? '' : k + 1}`);
        resources[id] = {
          Type: 'AWS::ApiGateway::ApiKey',
          Properties: {
            Name: keys.length === 1 ? consumer.name : `${consumer.name}-${k + 1}`,
            Enabled: true,
            ...(key === undefined ? {} : { Value: key }),
            Tags: [{ Key: 'tollgate:consumer', Value: consumer.name }],
          },
        };
        resources[`${id}PlanKey`] = {
          Type: 'AWS::ApiGateway::UsagePlanKey',
          Properties: { KeyId: { Ref: id }, KeyType: 'API_KEY', UsagePlanId: { Ref: plan } },
        };
      }
    }
  }

  // Quoted, so no YAML 1.1 reader takes the version for a date.
  const version = new YAML.Scalar('2010-09-09');
  version.type = 'QUOTE_SINGLE';
  const template = {
    AWSTemplateFormatVersion: version,
    Description: 'Tollgate policy as API Gateway REST APIs with usage plans',
    Resources: resources,
    Outputs: Object.fromEntries(
      stages.map((s) => [
        `${s.restApi}Url`,
        {
          Value: {
            'Fn::Sub':
              `https://\${${s.restApi}}.execute-api.\${AWS::Region}.amazonaws.com` + `/${STAGE}`,
          },
        },
      ]),
    ),
  };
  const content = YAML.stringify(template, { lineWidth: 0, aliasDuplicateObjects: false });
  return { files: [{ name: 'aws/template.yaml', content }], warnings: warnings.items };
}

function restApi(
  policy: Policy,
  api: ApiDefinition,
  apiIndex: number,
  resources: Record<string, Doc>,
  warnings: WarningList,
) {
  const restApiId = `${logicalId(api.name)}RestApi`;
  resources[restApiId] = {
    Type: 'AWS::ApiGateway::RestApi',
    Properties: {
      Name: api.name,
      ApiKeySourceType: 'HEADER',
      Description: `Tollgate API "${api.name}"`,
    },
  };
  warnApiLimits(policy, api, apiIndex, warnings);

  // One AWS::ApiGateway::Resource per distinct path prefix, shared between routes.
  const pathIds = new Map<string, string>();
  const resourceFor = (template: string): Doc => {
    if (template === '' || template === '/') return { 'Fn::GetAtt': [restApiId, 'RootResourceId'] };
    const existing = pathIds.get(template);
    if (existing) return { Ref: existing };
    const parentPath = template.slice(0, template.lastIndexOf('/'));
    const id = `${logicalId(api.name)}Resource${pathIds.size + 1}`;
    pathIds.set(template, id);
    resources[id] = {
      Type: 'AWS::ApiGateway::Resource',
      Properties: {
        RestApiId: { Ref: restApiId },
        ParentId: resourceFor(parentPath),
        PathPart: template.slice(template.lastIndexOf('/') + 1),
      },
    };
    return { Ref: id };
  };

  const methodIds: string[] = [];
  const methodKeys = new Map<string, string[]>();
  for (const [r, route] of api.routes.entries()) {
    const template = awsPath(api, apiIndex, r, warnings);
    const params = [...template.matchAll(/\{([^}+]+)\+?\}/g)].map((match) => match[1]!);
    const methods = route.methods.includes('*') ? ['ANY'] : [...route.methods];
    methodKeys.set(
      route.name,
      explicitMethods(route).map((method) => `${template}/${method}`),
    );
    const base = api.upstream ?? `https://${api.hosts[0]!.replace(/^\*\./, '')}`;

    for (const method of methods) {
      const id = `${logicalId(api.name)}${logicalId(route.name)}${logicalId(method)}Method`;
      methodIds.push(id);
      resources[id] = {
        Type: 'AWS::ApiGateway::Method',
        Properties: {
          RestApiId: { Ref: restApiId },
          ResourceId: resourceFor(template),
          HttpMethod: method,
          AuthorizationType: 'NONE',
          ApiKeyRequired: api.auth.length > 0,
          ...(params.length
            ? {
                RequestParameters: Object.fromEntries(
                  params.map((p) => [`method.request.path.${p}`, true]),
                ),
              }
            : {}),
          Integration: {
            Type: 'HTTP_PROXY',
            IntegrationHttpMethod: method,
            Uri: base.replace(/\/$/, '') + template.replace(/\+\}/g, '}'),
            ...(params.length
              ? {
                  RequestParameters: Object.fromEntries(
                    params.map((p) => [
                      `integration.request.path.${p}`,
                      `method.request.path.${p}`,
                    ]),
                  ),
                }
              : {}),
          },
        },
      };
    }
  }

  const realm = api.realm ?? api.name;
  const gatewayResponses: [string, string, Doc][] = [
    [
      'INVALID_API_KEY',
      '401',
      { 'gatewayresponse.header.WWW-Authenticate': `'ApiKey realm="${realm}"'` },
    ],
    ['MISSING_AUTHENTICATION_TOKEN', '404', {}],
    ['THROTTLED', '429', {}],
    ['QUOTA_EXCEEDED', '429', {}],
  ];
  for (const [type, status, headers] of gatewayResponses) {
    resources[`${logicalId(api.name)}${logicalId(type.toLowerCase())}Response`] = {
      Type: 'AWS::ApiGateway::GatewayResponse',
      Properties: {
        RestApiId: { Ref: restApiId },
        ResponseType: type,
        StatusCode: status,
        ...(Object.keys(headers).length ? { ResponseParameters: headers } : {}),
        ResponseTemplates: {
          'application/json':
            `{"status":${status},"code":"${type}",` + '"title":"$context.error.messageString"}',
        },
      },
    };
  }

  const deployment = `${logicalId(api.name)}Deployment`;
  const stage = `${logicalId(api.name)}Stage`;
  resources[deployment] = {
    Type: 'AWS::ApiGateway::Deployment',
    DependsOn: methodIds,
    Properties: { RestApiId: { Ref: restApiId } },
  };
  resources[stage] = {
    Type: 'AWS::ApiGateway::Stage',
    Properties: {
      RestApiId: { Ref: restApiId },
      DeploymentId: { Ref: deployment },
      StageName: STAGE,
    },
  };
  return { api, restApi: restApiId, stage, methodKeys };
}

/** `*` is a `{pN}` path parameter; only a final `**` can be API Gateway's greedy `{proxy+}`. */
function awsPath(api: ApiDefinition, apiIndex: number, routeIndex: number, warnings: WarningList) {
  const route = api.routes[routeIndex]!;
  const { template } = openApiPath(route.path);
  const segments = route.path.split('/');
  const doubles = segments.map((s, i) => (s === '**' ? i : -1)).filter((i) => i >= 0);
  if (doubles.length === 0) return template;

  const last = segments.length - 1;
  if (doubles.some((i) => i !== last)) {
    warnings.add(
      'path-approximated',
      `apis[${apiIndex}].routes[${routeIndex}].path`,
      `route "${api.name}.${route.name}" has "**" before the end; API Gateway's greedy ` +
        'parameter must be last, so that segment matches exactly one segment',
    );
  }
  return template.replace(/\{(p\d+)\}$/, segments[last] === '**' ? '{$1+}' : '{$1}');
}

function warnApiLimits(policy: Policy, api: ApiDefinition, a: number, warnings: WarningList) {
  warnings.add(
    'hosts-not-mapped',
    `apis[${a}].hosts`,
    `API "${api.name}" is served at ${api.hosts.join(', ')}; API Gateway answers on its ` +
      'execute-api host until a custom domain (AWS::ApiGateway::DomainName) maps it',
  );
  for (const [m, method] of api.auth.entries()) {
    const at = `apis[${a}].auth[${m}]`;
    if (method.type === 'apiKey') {
      if (method.header !== undefined && method.header !== 'x-api-key') {
        warnings.add(
          'key-header-fixed',
          `${at}.header`,
          `API Gateway reads keys from x-api-key only, not "${method.header}"`,
        );
      }
      if (method.query !== undefined) {
        warnings.add(
          'query-key-dropped',
          `${at}.query`,
          `API Gateway takes no key from the query ("${method.query}")`,
        );
      }
    } else {
      warnings.add(
        `${method.type}-dropped`,
        at,
        `API "${api.name}" accepts ${method.type}; a REST API needs a Lambda or Cognito ` +
          'authorizer for that, which this export does not write',
      );
    }
  }
  warnRouteCosts(api, a, warnings, 'usage plans count each request once');
  if (policy.forwardHeaders.consumer || policy.forwardHeaders.tier) {
    warnings.add(
      'forward-headers-dropped',
      'forwardHeaders',
      'API Gateway cannot tell the upstream the consumer or tier by name; no headers are added',
    );
  }
}

/** Two names can fold to one id (`acme-free`, `acmeFree`); the later one gets a number. */
function uniqueId(resources: Record<string, Doc>, base: string): string {
  let id = base;
  for (let n = 2; resources[id] || resources[`${id}PlanKey`]; n++) id = `${base}N${n}`;
  return id;
}

/** CloudFormation logical ids are alphanumeric. */
function logicalId(name: string): string {
  const id = name
    .split(/[^A-Za-z0-9]+/)
    .filter((part) => part)
    .map((part) => part[0]!.toUpperCase() + part.slice(1))
    .join('');
  return id || 'X';
}
