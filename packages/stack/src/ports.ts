// The local stack's ports: a base (ATOLL_PORT_BASE, default 17000) plus fixed offsets, each overridable.
export const serviceNames = ['postgres', 'redis', 'minio', 'stripe-mock', 'keycloak', 'api', 'writer', 'cleanroom'] as const;
export type ServiceName = (typeof serviceNames)[number];

const offsets = {
  postgres: 32,
  redis: 79,
  minio: 90,
  minioConsole: 91,
  // SeaweedFS (ATOLL_STORAGE=seaweedfs) serves S3 on the `minio` port; these are its internal listeners.
  seaweedS3Grpc: 92,
  seaweedMaster: 93,
  seaweedMasterGrpc: 94,
  seaweedVolume: 95,
  seaweedVolumeGrpc: 96,
  seaweedFiler: 97,
  seaweedFilerGrpc: 98,
  // The spare S3 server the storage conformance tests start beside the stack's (the other kind).
  spareS3: 190,
  spareMinioConsole: 191,
  spareSeaweedS3Grpc: 192,
  spareSeaweedMaster: 193,
  spareSeaweedMasterGrpc: 194,
  spareSeaweedVolume: 195,
  spareSeaweedVolumeGrpc: 196,
  spareSeaweedFiler: 197,
  spareSeaweedFilerGrpc: 198,
  stripeMock: 111,
  stripeMockHttps: 112,
  keycloak: 180,
  keycloakManagement: 181,
  api: 80,
  writerHealth: 85,
  cleanroomHealth: 86,
} as const;

export type PortName = keyof typeof offsets;
export type Ports = Record<PortName, number>;

const envName = (name: string) => `ATOLL_PORT_${name.replace(/[A-Z]/g, (c) => `_${c}`).toUpperCase()}`;

export function resolvePorts(env: Record<string, string | undefined> = process.env): Ports {
  const base = Number(env.ATOLL_PORT_BASE ?? 17000);
  if (!Number.isInteger(base) || base < 1024 || base > 65000) throw new Error(`ATOLL_PORT_BASE must be an integer in 1024..65000, got ${env.ATOLL_PORT_BASE}`);
  const ports = {} as Ports;
  for (const [name, offset] of Object.entries(offsets) as [PortName, number][]) {
    const override = env[envName(name)];
    const port = override === undefined ? base + offset : Number(override);
    if (!Number.isInteger(port) || port < 1 || port > 65535) throw new Error(`${envName(name)} must be a port number, got ${override}`);
    ports[name] = port;
  }
  const seen = new Map<number, string>();
  for (const [name, port] of Object.entries(ports)) {
    const other = seen.get(port);
    if (other) throw new Error(`port ${port} is configured for both ${other} and ${name}`);
    seen.set(port, name);
  }
  return ports;
}
