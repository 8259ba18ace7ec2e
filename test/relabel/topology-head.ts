/** The lines every relabel test topology starts with (two central replicas, one Alertmanager); each adds its bigRegions. */
export const TOPOLOGY_HEAD = `apiVersion: fedstack/v1
kind: Topology
metadata: { name: t }
central: { replicas: [{ name: a, zone: z1 }, { name: b, zone: z2 }] }
alertmanager: { replicas: [{ name: am, zone: z1 }] }
`;
