/**
 * HAProxy on `load-balancer` nodes: a TCP frontend on the control-plane endpoint's port,
 * balancing to every control plane's apiserver. Health checks are real: GET /readyz over TLS,
 * the apiserver's certificate verified against the cluster CA (an `ssl-hello-chk` passes for
 * anything that speaks TLS), expecting 200.
 */
import { formatHostPort } from '../../pki/plan/net.js';
import type { PlanNode } from '../../pki/plan/types.js';
import type { RenderContext } from './context.js';

export const HAPROXY_CONFIG = 'etc/haproxy/haproxy.cfg';
/** The cluster CA, for verifying the apiservers in health checks. */
export const HAPROXY_CA = 'etc/haproxy/kubernetes-ca.crt';

/** Where the frontend listens on `node`: the VIP when keepalived moves one, else the node's own address. */
export function frontendAddress(ctx: RenderContext, node: PlanNode): string {
  return ctx.settings.loadBalancer?.vip ?? node.address;
}

export function haproxyConfig(ctx: RenderContext, node: PlanNode): string {
  const port = ctx.plan.controlPlaneEndpoint.port;
  const servers = ctx.controlPlanes.map((cp) => `  server ${cp.name} ${formatHostPort(cp.address, ctx.plan.apiServer.bindPort)}`);
  return `# Written by kpki install: the control-plane endpoint on ${node.name}.
global
  log /dev/log local0
  user haproxy
  group haproxy

defaults
  mode tcp
  log global
  option tcplog
  option dontlognull
  retries 3
  timeout connect 5s
  timeout client 4h
  timeout server 4h
  timeout check 5s

frontend kube-apiserver
  bind ${formatHostPort(frontendAddress(ctx, node), port)}
  default_backend kube-apiserver

backend kube-apiserver
  balance roundrobin
  option httpchk GET /readyz
  http-check expect status 200
  default-server check check-ssl verify required ca-file /${HAPROXY_CA} inter 3s fall 3 rise 2
${servers.join('\n')}
`;
}
