/**
 * keepalived on load balancers when the plan has a VIP and two or more of them: VRRP moves the
 * VIP, the first load balancer in plan order is the master (highest priority), and a node whose
 * HAProxy is not running drops below the next one.
 */
import type { PlanNode } from '../../pki/plan/types.js';
import type { RenderContext } from './context.js';

export const KEEPALIVED_CONFIG = 'etc/keepalived/keepalived.conf';
/** kubeadm's HA guide's router id; one VRRP group per broadcast domain must not share it. */
const VIRTUAL_ROUTER_ID = 51;
const TOP_PRIORITY = 150;

export function keepalivedConfig(ctx: RenderContext, node: PlanNode, lbs: readonly PlanNode[], vip: { readonly vip: string; readonly interface: string }): string {
  const index = lbs.findIndex((n) => n.name === node.name);
  return `# Written by kpki install: the VIP ${vip.vip} on ${node.name} (${index + 1} of ${lbs.length} load balancers).
global_defs {
  router_id ${node.name}
  enable_script_security
  script_user root
}

vrrp_script check_haproxy {
  script "/usr/bin/pgrep -x haproxy"
  interval 3
  weight -2
  fall 10
  rise 2
}

vrrp_instance kube_apiserver {
  state ${index === 0 ? 'MASTER' : 'BACKUP'}
  interface ${vip.interface}
  virtual_router_id ${VIRTUAL_ROUTER_ID}
  priority ${TOP_PRIORITY - index}
  advert_int 1
  virtual_ipaddress {
    ${vip.vip}
  }
  track_script {
    check_haproxy
  }
}
`;
}
