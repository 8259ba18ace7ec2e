/** A small topology with the security section, for tests that run real Prometheus. */
export function securedTopologyText(o: {
  serviceUrl: string;
  edgeEndpoint: string;
  scrapeInterval?: string;
  /** Mutual TLS: scrapers present the client certificate of Secret fed-client. */
  mutualTls?: boolean;
}): string {
  return `apiVersion: fedstack/v1
kind: Topology
metadata: { name: fed-test }
global:
  cascade: { scrapeInterval: ${o.scrapeInterval ?? '30s'} }
  serviceUrl: ${o.serviceUrl}
central:
  replicas:
    - { name: central-a, zone: zone-a, endpoint: 127.0.0.1:19191 }
    - { name: central-b, zone: zone-b, endpoint: 127.0.0.1:19192 }
alertmanager:
  replicas:
    - { name: am-0, zone: zone-a, endpoint: 127.0.0.1:19093, clusterEndpoint: 127.0.0.1:19094 }
    - { name: am-1, zone: zone-b, endpoint: 127.0.0.1:19095, clusterEndpoint: 127.0.0.1:19096 }
bigRegions:
  - name: lab
    cascade: { endpoint: 127.0.0.1:19090, egressCidrs: [127.0.0.1/32] }
    regions:
      - name: lab-east
        metaClusters:
          - { name: mc-lab-01, endpoint: ${o.edgeEndpoint} }
security:
  federation:
    tls:
      serverCertSecret: fed-tls
      ca: { name: fed-ca, key: ca.crt }${o.mutualTls === true ? '\n      clientCertSecret: fed-client' : ''}
    basicAuth:
      username: federate
      password: { name: fed-auth, key: password }
      passwordHash: { name: fed-auth, key: password.bcrypt }
`;
}
