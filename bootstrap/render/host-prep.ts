/** Host preparation for nodes that run a kubelet: kernel modules and sysctls for pod networking. */
import type { RenderContext } from './context.js';
import type { StagedFile } from '../types.js';

export function hostPrep(ctx: RenderContext): StagedFile[] {
  const v6 = [...ctx.plan.networking.serviceSubnets, ...ctx.plan.networking.podSubnets].some((c) => c.family === 6);
  return [
    { path: 'etc/modules-load.d/kubernetes.conf', mode: 0o644, content: '# Written by kpki install.\noverlay\nbr_netfilter\n' },
    {
      path: 'etc/sysctl.d/99-kubernetes.conf',
      mode: 0o644,
      content: `# Written by kpki install.
net.bridge.bridge-nf-call-iptables = 1
net.bridge.bridge-nf-call-ip6tables = 1
net.ipv4.ip_forward = 1
${v6 ? 'net.ipv6.conf.all.forwarding = 1\n' : ''}`,
    },
  ];
}

/** A load balancer that holds a VIP only while it is keepalived's master still binds it: non-local binds. */
export function loadBalancerSysctl(vipFamily: 4 | 6): StagedFile {
  const key = vipFamily === 4 ? 'net.ipv4.ip_nonlocal_bind' : 'net.ipv6.ip_nonlocal_bind';
  return { path: 'etc/sysctl.d/99-kpki-load-balancer.conf', mode: 0o644, content: `# Written by kpki install: HAProxy binds the VIP on every load balancer.\n${key} = 1\n` };
}
