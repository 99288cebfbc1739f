// Every third-party component of the local stack, pinned. Bump here and nowhere else.
export const versions = {
  /** Last commit of minio/minio's default branch (community edition is source-only upstream). */
  minio: 'v0.0.0-20260212201848-7aac2a2c5b7c',
  /**
   * SeaweedFS (the second S3 server, ATOLL_STORAGE=seaweedfs): a pseudo-version the Go module proxy serves. Built from
   * the downloaded module with `go build` because its go.mod has replace directives, which `go install` refuses.
   */
  seaweedfs: 'v0.0.0-20261109003541-7506e5f91cd6',
  stripeMock: 'v0.203.0',
  keycloak: {
    version: '26.7.3',
    /** SHA-256 of keycloak-quarkus-dist-<version>.tar.gz from Maven Central (its .sha1 is checked too). */
    sha256: '77657f30b7e90d70f727712ce1c967f430fd6a5e9f458d32d8c6df0635345f47',
    minJava: 21,
  },
  // The writer's ORC converter's crates (orc-rust, arrow, parquet) are pinned by packages/bulk/orc-to-parquet/Cargo.lock.
  /** Debian bookworm packages; the exact build is whatever the distribution ships for that major version. */
  debian: { redis: 'redis-server', postgres: 'postgresql-15', postgresMajor: 15 },
} as const;
