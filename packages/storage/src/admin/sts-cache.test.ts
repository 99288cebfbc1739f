import { describe, expect, it } from 'vitest';
import type { AssumeRoleOptions, PolicyDocument, TemporaryCredentials } from './storage-admin.js';
import { StsCredentialCache } from './sts-cache.js';

const policy = (key: string): PolicyDocument => ({ Version: '2012-10-17', Statement: [{ Effect: 'Allow', Action: ['s3:GetObject'], Resource: [`arn:aws:s3:::lake/${key}/*`] }] });

/** An admin that mints numbered credentials living `durationSeconds` from the fake clock, and can be told to fail. */
function fakeAdmin(clock: { ms: number }) {
  const calls: AssumeRoleOptions[] = [];
  let fail = false;
  return {
    calls,
    failNext: () => void (fail = true),
    async assumeRole(opts: AssumeRoleOptions): Promise<TemporaryCredentials> {
      calls.push(opts);
      await new Promise((resolve) => setTimeout(resolve, 5));
      if (fail) {
        fail = false;
        throw new Error('sts down');
      }
      return { accessKeyId: `AK${calls.length}`, secretAccessKey: 's', sessionToken: 't', expiresAt: new Date(clock.ms + opts.durationSeconds * 1000) };
    },
  };
}

describe('StsCredentialCache', () => {
  it('mints once for concurrent requests with the same policy and reuses while enough lifetime remains', async () => {
    const clock = { ms: 1_000_000 };
    const admin = fakeAdmin(clock);
    const cache = new StsCredentialCache(admin, { minRemainingSeconds: 600, now: () => clock.ms });
    const got = await Promise.all(Array.from({ length: 16 }, () => cache.assumeRole({ policy: policy('a'), durationSeconds: 900 })));
    expect(new Set(got.map((c) => c.accessKeyId))).toEqual(new Set(['AK1']));
    clock.ms += 299_000; // 601 s left
    expect((await cache.assumeRole({ policy: policy('a'), durationSeconds: 900 })).accessKeyId).toBe('AK1');
    clock.ms += 2_000; // 599 s left: too little to hand out
    expect((await cache.assumeRole({ policy: policy('a'), durationSeconds: 900 })).accessKeyId).toBe('AK2');
    expect(admin.calls).toHaveLength(2);
  });

  it('never shares credentials across different policies, lifetimes or roles', async () => {
    const clock = { ms: 0 };
    const admin = fakeAdmin(clock);
    const cache = new StsCredentialCache(admin, { minRemainingSeconds: 600, now: () => clock.ms });
    const a = await cache.assumeRole({ policy: policy('a'), durationSeconds: 900 });
    const b = await cache.assumeRole({ policy: policy('b'), durationSeconds: 900 });
    const a2 = await cache.assumeRole({ policy: policy('a'), durationSeconds: 1800 });
    expect([a.accessKeyId, b.accessKeyId, a2.accessKeyId]).toEqual(['AK1', 'AK2', 'AK3']);
    expect(admin.calls.map((c) => c.policy)).toEqual([policy('a'), policy('b'), policy('a')]);
    const r = await cache.assumeRole({ policy: policy('a'), durationSeconds: 900, role: 'vended' });
    expect(r.accessKeyId).toBe('AK4');
    expect((await cache.assumeRole({ policy: policy('a'), durationSeconds: 900, role: 'vended' })).accessKeyId).toBe('AK4');
    expect(admin.calls.at(-1)?.role).toBe('vended');
  });

  it('does not cache a failure, nor credentials too short-lived to ever be reused', async () => {
    const clock = { ms: 0 };
    const admin = fakeAdmin(clock);
    const cache = new StsCredentialCache(admin, { minRemainingSeconds: 600, now: () => clock.ms });
    admin.failNext();
    await expect(cache.assumeRole({ policy: policy('a'), durationSeconds: 900 })).rejects.toThrow('sts down');
    expect((await cache.assumeRole({ policy: policy('a'), durationSeconds: 900 })).accessKeyId).toBe('AK2');
    await cache.assumeRole({ policy: policy('c'), durationSeconds: 600 });
    await cache.assumeRole({ policy: policy('c'), durationSeconds: 600 });
    expect(admin.calls).toHaveLength(4);
  });

  it('keeps at most maxEntries policies, dropping the oldest', async () => {
    const clock = { ms: 0 };
    const admin = fakeAdmin(clock);
    const cache = new StsCredentialCache(admin, { minRemainingSeconds: 600, maxEntries: 2, now: () => clock.ms });
    for (const k of ['a', 'b', 'c']) await cache.assumeRole({ policy: policy(k), durationSeconds: 900 });
    await cache.assumeRole({ policy: policy('c'), durationSeconds: 900 });
    await cache.assumeRole({ policy: policy('a'), durationSeconds: 900 });
    expect(admin.calls.map((c) => c.policy)).toEqual([policy('a'), policy('b'), policy('c'), policy('a')]);
  });
});
