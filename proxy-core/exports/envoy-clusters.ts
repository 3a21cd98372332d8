/** Envoy clusters: one per API upstream, and the gRPC ratelimit service's. */

import type { ApiDefinition } from '../policies/schema.ts';
import type { WarningList } from './types.ts';

type Doc = Record<string, unknown>;

export function upstreamCluster(api: ApiDefinition, a: number, warnings: WarningList): Doc {
  if (api.upstream === undefined) {
    warnings.add(
      'upstream-missing',
      `apis[${a}].upstream`,
      `API "${api.name}" has no upstream; the cluster points at ${api.hosts[0]}`,
    );
  }
  const url = new URL(api.upstream ?? `http://${api.hosts[0]!.replace(/^\*\./, '')}`);
  const tls = url.protocol === 'https:';
  const port = Number(url.port || (tls ? 443 : 80));
  return {
    name: `tollgate_${api.name}`,
    type: 'STRICT_DNS',
    connect_timeout: '5s',
    load_assignment: {
      cluster_name: `tollgate_${api.name}`,
      endpoints: [
        {
          lb_endpoints: [
            {
              endpoint: {
                address: {
                  socket_address: {
                    address: url.hostname.replace(/^\[|\]$/g, ''),
                    port_value: port,
                  },
                },
              },
            },
          ],
        },
      ],
    },
    ...(tls
      ? {
          transport_socket: {
            name: 'envoy.transport_sockets.tls',
            typed_config: {
              '@type':
                'type.googleapis.com/envoy.extensions.transport_sockets.tls.v3.UpstreamTlsContext',
              sni: url.hostname,
            },
          },
        }
      : {}),
  };
}

export function ratelimitCluster(): Doc {
  return {
    name: 'ratelimit',
    type: 'STRICT_DNS',
    connect_timeout: '1s',
    typed_extension_protocol_options: {
      'envoy.extensions.upstreams.http.v3.HttpProtocolOptions': {
        '@type': 'type.googleapis.com/envoy.extensions.upstreams.http.v3.HttpProtocolOptions',
        explicit_http_config: { http2_protocol_options: {} },
      },
    },
    load_assignment: {
      cluster_name: 'ratelimit',
      endpoints: [
        {
          lb_endpoints: [
            {
              endpoint: { address: { socket_address: { address: 'ratelimit', port_value: 8081 } } },
            },
          ],
        },
      ],
    },
  };
}
