import { SignJWT } from 'jose';
import { connectToControlApi } from '../../control/connect.ts';
import { parseDuration } from '../../policies/clock.ts';
import { loadPolicyFile, parsePolicy } from '../../policies/load.ts';
import type { JwtAuth, Policy } from '../../policies/schema.ts';
import { parseCommandArgs, resolveDataDir, UsageError, type Command } from '../command.ts';

const USAGE = `Usage: tollgate token --consumer NAME [--ttl 1h] [--policy FILE] [--api NAME]
                      [--tier TIER]

Mints a signed test JWT for a consumer, with the claims the policy's jwt method expects
(issuer, audience, consumer claim, tier claim), signed with that method's shared secret.
Without --policy, the policy of the running Tollgate is used, and so is its virtual clock.

Options:
  --consumer NAME  the consumer the token names (required)
  --ttl DURATION   lifetime, like 15m, 1h, 1d (default 1h)
  --policy FILE    the policy to read the jwt method from
  --api NAME       which API's jwt method, when several have one
  --tier TIER      the tier claim (default: the consumer's tier in the policy)
  --data-dir DIR   the data dir of the running Tollgate (when --policy is not given)`;

export const tokenCommand: Command = {
  summary: 'Mint a signed test JWT for a consumer',
  usage: USAGE,

  async run({ argv, stdout }) {
    const { values, positionals } = parseCommandArgs(argv, {
      consumer: { type: 'string' },
      ttl: { type: 'string' },
      policy: { type: 'string' },
      api: { type: 'string' },
      tier: { type: 'string' },
    });
    if (positionals.length > 0) throw new UsageError(`unexpected argument '${positionals[0]}'`);
    if (!values.consumer) throw new UsageError('--consumer NAME is required');
    const ttlMs = parseDuration(values.ttl ?? '1h');
    if (ttlMs === null || ttlMs === 0)
      throw new UsageError(`--ttl '${values.ttl}' is not a duration`);

    const { policy, now } = await policyAndNow(values.policy, values['data-dir']);
    const method = jwtMethod(policy, values.api);
    const consumer = policy.consumers.find((c) => c.name === values.consumer);
    const tier = values.tier ?? consumer?.tier;
    if (tier === undefined) {
      throw new Error(
        `consumer '${values.consumer}' is not in the policy; pass --tier to mint anyway`,
      );
    }

    const claims: Record<string, string> = { [method.consumerClaim]: values.consumer };
    if (method.tierClaim) claims[method.tierClaim] = tier;
    const issuedAt = Math.floor(now / 1000);
    let jwt = new SignJWT(claims)
      .setProtectedHeader({ alg: method.algorithms?.find((a) => a.startsWith('HS')) ?? 'HS256' })
      .setIssuedAt(issuedAt)
      .setExpirationTime(issuedAt + Math.round(ttlMs / 1000));
    if (method.issuer) jwt = jwt.setIssuer(method.issuer);
    if (method.audience) jwt = jwt.setAudience(method.audience);

    stdout((await jwt.sign(new TextEncoder().encode(method.secret!))) + '\n');
    return 0;
  },
};

async function policyAndNow(file: string | undefined, dataDir: string | boolean | undefined) {
  if (file !== undefined) {
    const result = await loadPolicyFile(file);
    if (!result.ok) {
      const first = result.errors[0]!;
      throw new Error(`${file}: ${first.path}: ${first.message} (run 'tollgate policy check')`);
    }
    return { policy: result.policy, now: Date.now() };
  }

  const client = await connectToControlApi(resolveDataDir(dataDir));
  const [state, clock] = await Promise.all([client.policy.get(), client.clock.get()]);
  const result = state.policy === null ? null : parsePolicy(JSON.stringify(state.policy));
  if (!result?.ok) throw new Error('the running Tollgate has no valid policy; pass --policy FILE');
  return { policy: result.policy, now: clock.now };
}

function jwtMethod(policy: Policy, apiName: string | undefined): JwtAuth {
  const apis = apiName ? policy.apis.filter((a) => a.name === apiName) : policy.apis;
  if (apiName && apis.length === 0) throw new Error(`no API '${apiName}' in the policy`);

  const methods = apis.flatMap((api) => api.auth.filter((m): m is JwtAuth => m.type === 'jwt'));
  const signable = methods.find((m) => m.secret !== undefined);
  if (signable) return signable;
  if (methods.length > 0) {
    throw new Error(
      'the jwt method verifies with a public key; tokens can only be minted for a shared secret',
    );
  }
  throw new Error(`no jwt auth method in ${apiName ? `API '${apiName}'` : 'the policy'}`);
}
