/**
 * What a set of NetworkPolicies lets a pod open (egress), evaluated as the Kubernetes API specifies it: a pod that
 * no Egress policy selects may go anywhere; one that some select may reach what any rule of those admits.
 */
import type { Manifest } from './deploy-files.ts';

export type Labels = Record<string, string>;

/** Where a connection goes: a pod (its labels, and its namespace's labels: the policy's own namespace when absent) or an address. */
export type Destination =
  | { pod: Labels; namespace?: Labels; port: number; protocol?: 'TCP' | 'UDP' }
  | { ip: string; port: number; protocol?: 'TCP' | 'UDP' };

function selects(selector: Manifest | undefined, labels: Labels): boolean {
  if (!selector) return false;
  for (const [key, value] of Object.entries((selector.matchLabels ?? {}) as Labels)) if (labels[key] !== value) return false;
  for (const { key, operator, values = [] } of (selector.matchExpressions ?? []) as Manifest[]) {
    const has = key in labels;
    if (operator === 'In' && !(has && values.includes(labels[key]))) return false;
    if (operator === 'NotIn' && has && values.includes(labels[key])) return false;
    if (operator === 'Exists' && !has) return false;
    if (operator === 'DoesNotExist' && has) return false;
  }
  return true;
}

const ipNumber = (ip: string) => ip.split('.').reduce((n, part) => n * 256 + Number(part), 0);
function inCidr(ip: string, cidr: string): boolean {
  const [base, bits] = cidr.split('/');
  const size = 2 ** (32 - Number(bits));
  return Math.floor(ipNumber(ip) / size) === Math.floor(ipNumber(base!) / size);
}

const NAME = 'kubernetes.io/metadata.name';

function peerAdmits(peer: Manifest, to: Destination, policyNamespace: string): boolean {
  if ('ip' in to) {
    if (!peer.ipBlock) return false;
    return inCidr(to.ip, peer.ipBlock.cidr) && !((peer.ipBlock.except ?? []) as string[]).some((c) => inCidr(to.ip, c));
  }
  if (peer.ipBlock) return false;
  const namespace = to.namespace ?? { [NAME]: policyNamespace };
  // Without a namespaceSelector, a peer is in the policy's own namespace.
  if (peer.namespaceSelector ? !selects(peer.namespaceSelector, namespace) : namespace[NAME] !== policyNamespace) return false;
  return peer.podSelector ? selects(peer.podSelector, to.pod) : true;
}

const portAdmits = (port: Manifest, to: Destination) => port.port === to.port && (port.protocol ?? 'TCP') === (to.protocol ?? 'TCP');

/** Whether a pod with these labels may connect to the destination. */
export function egressAllows(policies: Manifest[], pod: Labels, to: Destination): boolean {
  const applying = policies.filter((p) => (p.spec.policyTypes ?? []).includes('Egress') && selects(p.spec.podSelector, pod));
  if (applying.length === 0) return true;
  return applying.some((p) =>
    ((p.spec.egress ?? []) as Manifest[]).some(
      (rule) =>
        (!rule.to || (rule.to as Manifest[]).some((peer) => peerAdmits(peer, to, p.metadata.namespace ?? 'default'))) &&
        (!rule.ports || (rule.ports as Manifest[]).some((port) => portAdmits(port, to))),
    ),
  );
}
