// SeaweedFS as Atoll's S3 server (ATOLL_STORAGE=seaweedfs): one `weed server` process (master, volume, filer, S3 gateway
// with its embedded IAM and STS) on loopback ports, configured by two 0600 files written here.
import { randomBytes } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { httpOk } from './health.js';

export interface SeaweedPorts {
  s3: number;
  s3Grpc: number;
  master: number;
  masterGrpc: number;
  volume: number;
  volumeGrpc: number;
  filer: number;
  filerGrpc: number;
}

export function seaweedPortList(p: SeaweedPorts): number[] {
  return [p.s3, p.s3Grpc, p.master, p.masterGrpc, p.volume, p.volumeGrpc, p.filer, p.filerGrpc];
}

export interface SeaweedSpec {
  /** The `weed` binary (install.ts builds it). */
  weed: string;
  /** Data directory; the config files live beside the data in it. */
  dir: string;
  ports: SeaweedPorts;
  /** The root (admin) identity, the only static one; every other user is created through the IAM API. */
  rootUser: string;
  rootPassword: string;
}

/** The static S3 identities file: the root key only, with SeaweedFS's Admin action (IAM, STS, every bucket). */
function identitiesConfig(spec: SeaweedSpec): string {
  return JSON.stringify({
    identities: [
      {
        name: 'atollroot',
        credentials: [{ accessKey: spec.rootUser, secretKey: spec.rootPassword }],
        actions: ['Admin', 'Read', 'Write', 'List', 'Tagging'],
      },
    ],
  });
}

/**
 * The advanced IAM file: turns on STS (AssumeRole with an inline session policy) with a random signing key kept in
 * the data directory, and denies whatever no policy allows.
 */
function iamConfig(signingKey: string): string {
  return JSON.stringify({
    sts: { tokenDuration: '1h', maxSessionLength: '12h', issuer: 'atoll-seaweedfs', signingKey },
    policy: { defaultEffect: 'Deny' },
    // With a config file SeaweedFS keeps roles in memory unless told otherwise: a restart would drop the api's
    // vended-credentials role (made once by init) and every loadTable after it would be refused. The filer keeps them.
    roleStore: { storeType: 'filer' },
  });
}

/** A random key kept in a 0600 file of the data directory: made once, the same on every restart. */
async function keptKey(file: string, make: () => string): Promise<string> {
  if (!existsSync(file)) await writeFile(file, make(), { mode: 0o600 });
  return readFileSync(file, 'utf8').trim();
}

/**
 * Writes the config files (idempotently: the STS signing key and the SSE-S3 key survive restarts) and returns how to
 * start `weed`. The SSE-S3 key-encryption key goes in the environment, as MinIO's KMS key does.
 */
export async function prepareSeaweed(spec: SeaweedSpec): Promise<{ command: string; args: string[]; env: Record<string, string> }> {
  await mkdir(join(spec.dir, 'data'), { recursive: true, mode: 0o700 });
  const signingKey = await keptKey(join(spec.dir, 'sts-signing-key'), () => randomBytes(32).toString('base64'));
  // Without it SeaweedFS refuses every PUT into a bucket with default encryption (which every Atoll bucket has).
  const sseKek = await keptKey(join(spec.dir, 'sse-s3-kek'), () => randomBytes(32).toString('hex'));
  // Without it the filer's IAM gRPC service takes unauthenticated calls (any local process could add users).
  const filerJwtKey = await keptKey(join(spec.dir, 'filer-jwt-key'), () => randomBytes(32).toString('base64url'));
  const s3Config = join(spec.dir, 's3-identities.json');
  const iamFile = join(spec.dir, 's3-iam.json');
  await writeFile(s3Config, identitiesConfig(spec), { mode: 0o600 });
  await writeFile(iamFile, iamConfig(signingKey), { mode: 0o600 });
  const p = spec.ports;
  return {
    command: spec.weed,
    // Every bucket is a SeaweedFS collection with volumes of its own: one volume per growth step (default 7) and no
    // fixed volume count (the default, 8, runs out after a few buckets), so Atoll's many cleanroom buckets fit.
    env: { WEED_S3_SSE_KEK: sseKek, WEED_JWT_FILER_SIGNING_KEY: filerJwtKey, WEED_MASTER_VOLUME_GROWTH_COPY_1: '1' },
    args: [
      'server',
      `-dir=${join(spec.dir, 'data')}`,
      '-ip=127.0.0.1',
      '-ip.bind=127.0.0.1',
      `-master.port=${p.master}`,
      `-master.port.grpc=${p.masterGrpc}`,
      '-master.telemetry=false',
      '-master.volumeSizeLimitMB=64',
      `-volume.port=${p.volume}`,
      `-volume.port.grpc=${p.volumeGrpc}`,
      '-volume.max=0',
      // Stops in a second, not ten (its default waits for a load balancer to notice).
      '-volume.preStopSeconds=0',
      '-filer',
      `-filer.port=${p.filer}`,
      `-filer.port.grpc=${p.filerGrpc}`,
      '-s3',
      `-s3.port=${p.s3}`,
      `-s3.port.grpc=${p.s3Grpc}`,
      '-s3.port.iceberg=0',
      '-s3.port.lance=0',
      `-s3.config=${s3Config}`,
      `-s3.iam.config=${iamFile}`,
      '-s3.iam.readOnly=false',
    ],
  };
}

/** Ready when the S3 gateway answers its health check (it only listens once the filer and master are up). */
export function seaweedHealthy(ports: SeaweedPorts): Promise<boolean> {
  return httpOk(`http://127.0.0.1:${ports.s3}/healthz`);
}
