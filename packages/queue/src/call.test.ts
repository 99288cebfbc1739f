import { describe, expect, it } from 'vitest';
import { newReplyKey, sealReply } from './call.js';

describe('sealed replies', () => {
  it('opens what was sealed to its key, and hides it from everyone else', () => {
    const key = newReplyKey();
    const sealed = sealReply(key.publicKey, { ok: true, value: { secretAccessKey: 's3cr3t-value' } });
    expect(JSON.stringify(sealed)).not.toContain('s3cr3t');
    expect(key.open(sealed)).toEqual({ ok: true, value: { secretAccessKey: 's3cr3t-value' } });
    expect(() => newReplyKey().open(sealed)).toThrow();
  });

  it('refuses a tampered or foreign answer', () => {
    const key = newReplyKey();
    const sealed = sealReply(key.publicKey, { ok: false, error: { code: 'SQL_REJECTED', message: 'no' } });
    const ct = Buffer.from(sealed.ct, 'base64');
    ct[0] = ct[0]! ^ 1;
    expect(() => key.open({ ...sealed, ct: ct.toString('base64') })).toThrow();
    expect(() => key.open({ ok: true, value: 1 })).toThrow(/not a sealed reply/);
  });
});
