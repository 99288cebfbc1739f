import { describe, expect, it } from 'vitest';
import { resolvePorts } from './ports.js';

describe('resolvePorts', () => {
  it('derives every port from the base and honours overrides', () => {
    const ports = resolvePorts({ ATOLL_PORT_BASE: '20000', ATOLL_PORT_API: '8088' });
    expect(ports.postgres).toBe(20032);
    expect(ports.keycloakManagement).toBe(20181);
    expect(ports.api).toBe(8088);
  });
  it('rejects clashes and nonsense with the variable named', () => {
    expect(() => resolvePorts({ ATOLL_PORT_REDIS: '17032' })).toThrow(/both postgres and redis/);
    expect(() => resolvePorts({ ATOLL_PORT_MINIO: 'abc' })).toThrow(/ATOLL_PORT_MINIO/);
    expect(() => resolvePorts({ ATOLL_PORT_BASE: '80' })).toThrow(/ATOLL_PORT_BASE/);
  });
});
