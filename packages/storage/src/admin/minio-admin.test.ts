// Checks MinioAdmin's wire format and error mapping against a scripted fetch; the real server is in test/storage-admin.
import { describe, expect, it } from 'vitest';
import { decryptAdminPayload } from './madmin-crypto.js';
import { MinioAdmin, parseAssumeRoleResponse } from './minio-admin.js';
import { StorageAdminError } from './storage-admin.js';

const ROOT_SECRET = 'root-secret-0123456789abcdef';

interface Sent {
  url: URL;
  method: string;
  headers: Headers;
  body: Buffer;
}

function scripted(reply: (sent: Sent) => Response | Promise<Response>): { admin: MinioAdmin; sent: Sent[] } {
  const sent: Sent[] = [];
  const fake = async (input: string | URL | Request, init?: RequestInit): Promise<Response> => {
    const body = init?.body ? Buffer.from(init.body as Uint8Array) : Buffer.alloc(0);
    const href = input instanceof Request ? input.url : input instanceof URL ? input.href : input;
    const request: Sent = { url: new URL(href), method: init?.method ?? 'GET', headers: new Headers(init?.headers), body };
    sent.push(request);
    return reply(request);
  };
  const admin = new MinioAdmin({
    endpoint: 'http://127.0.0.1:9000',
    region: 'eu-test-1',
    accessKey: 'rootuser',
    secretKey: ROOT_SECRET,
    fetch: fake,
  });
  return { admin, sent };
}

const jsonError = (status: number, code: string, message: string): Response =>
  new Response(JSON.stringify({ Code: code, Message: message, Resource: '/x', RequestId: 'REQ1', HostId: 'h' }), {
    status,
    headers: { 'content-type': 'application/json' },
  });

describe('MinioAdmin requests', () => {
  it('createUser sends an encrypted, SigV4-signed PUT to add-user', async () => {
    const { admin, sent } = scripted(() => new Response(null, { status: 200 }));
    await admin.createUser('app user+1', 'user-secret-123456');
    const req = sent[0]!;
    expect(req.method).toBe('PUT');
    expect(req.url.pathname).toBe('/minio/admin/v3/add-user');
    expect(req.url.searchParams.get('accessKey')).toBe('app user+1');
    expect(req.headers.get('authorization')).toMatch(/^AWS4-HMAC-SHA256 Credential=rootuser\/\d{8}\/eu-test-1\/s3\/aws4_request, /);
    expect(req.headers.get('x-amz-content-sha256')).toMatch(/^[0-9a-f]{64}$/);
    expect(req.body.includes(Buffer.from('user-secret-123456'))).toBe(false);
    const plain = await decryptAdminPayload({ password: ROOT_SECRET, data: req.body });
    expect(JSON.parse(plain.toString('utf8'))).toEqual({ secretKey: 'user-secret-123456', status: 'enabled' });
  });

  it('attachPolicies posts an encrypted association as octet-stream and treats "already applied" as success', async () => {
    const { admin, sent } = scripted(() => jsonError(400, 'XMinioAdminPolicyChangeAlreadyApplied', 'The specified policy change is already in effect.'));
    await admin.attachPolicies('u1', ['p1', 'p2']);
    const req = sent[0]!;
    expect(req.method).toBe('POST');
    expect(req.url.pathname).toBe('/minio/admin/v3/idp/builtin/policy/attach');
    expect(req.headers.get('content-type')).toBe('application/octet-stream');
    const plain = await decryptAdminPayload({ password: ROOT_SECRET, data: req.body });
    expect(JSON.parse(plain.toString('utf8'))).toEqual({ policies: ['p1', 'p2'], user: 'u1' });
  });

  it('attachPolicies with no policies sends nothing', async () => {
    const { admin, sent } = scripted(() => new Response(null, { status: 500 }));
    await admin.attachPolicies('u1', []);
    expect(sent).toHaveLength(0);
  });

  it('putPolicy sends the policy JSON as is', async () => {
    const { admin, sent } = scripted(() => new Response(null, { status: 200 }));
    const policy = { Version: '2012-10-17' as const, Statement: [{ Effect: 'Allow' as const, Action: ['s3:GetObject'], Resource: ['arn:aws:s3:::b/*'] }] };
    await admin.putPolicy('p1', policy);
    expect(sent[0]!.url.pathname).toBe('/minio/admin/v3/add-canned-policy');
    expect(sent[0]!.url.searchParams.get('name')).toBe('p1');
    expect(JSON.parse(sent[0]!.body.toString('utf8'))).toEqual(policy);
  });

  it('deleteUser and deletePolicy treat "no such" as success', async () => {
    const { admin } = scripted((req) =>
      req.url.pathname.endsWith('remove-user')
        ? jsonError(404, 'XMinioAdminNoSuchUser', 'The specified user does not exist.')
        : jsonError(404, 'XMinioAdminNoSuchPolicy', 'The canned policy does not exist.'),
    );
    await expect(admin.deleteUser('gone')).resolves.toBeUndefined();
    await expect(admin.deletePolicy('gone')).resolves.toBeUndefined();
  });

  it('assumeRole posts a signed STS form to the root and parses the credentials', async () => {
    const { admin, sent } = scripted(
      () =>
        new Response(
          `<?xml version="1.0" encoding="UTF-8"?>
<AssumeRoleResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/"><AssumeRoleResult><AssumedRoleUser><Arn></Arn><AssumeRoleId></AssumeRoleId></AssumedRoleUser><Credentials><AccessKeyId>TMPKEY</AccessKeyId><SecretAccessKey>tmp+secret/&amp;x</SecretAccessKey><SessionToken>tok.en&lt;1&gt;</SessionToken><Expiration>2030-01-02T03:04:05Z</Expiration></Credentials></AssumeRoleResult><ResponseMetadata><RequestId>R</RequestId></ResponseMetadata></AssumeRoleResponse>`,
          { status: 200, headers: { 'content-type': 'application/xml' } },
        ),
    );
    const policy = { Version: '2012-10-17' as const, Statement: [{ Effect: 'Allow' as const, Action: ['s3:GetObject'], Resource: ['arn:aws:s3:::b/p/*'] }] };
    const creds = await admin.assumeRole({ policy, durationSeconds: 900 });
    expect(creds).toEqual({
      accessKeyId: 'TMPKEY',
      secretAccessKey: 'tmp+secret/&x',
      sessionToken: 'tok.en<1>',
      expiresAt: new Date('2030-01-02T03:04:05Z'),
    });
    const req = sent[0]!;
    expect(req.method).toBe('POST');
    expect(req.url.pathname).toBe('/');
    expect(req.url.search).toBe('');
    expect(req.headers.get('content-type')).toMatch(/^application\/x-www-form-urlencoded/);
    expect(req.headers.get('authorization')).toMatch(/\/eu-test-1\/sts\/aws4_request, /);
    const form = new URLSearchParams(req.body.toString('utf8'));
    expect(form.get('Action')).toBe('AssumeRole');
    expect(form.get('Version')).toBe('2011-06-15');
    expect(form.get('DurationSeconds')).toBe('900');
    expect(JSON.parse(form.get('Policy') ?? '')).toEqual(policy);
  });

  it('assumeRole refuses durations MinIO would reject, without a request', async () => {
    const { admin, sent } = scripted(() => new Response(null, { status: 200 }));
    await expect(admin.assumeRole({ durationSeconds: 899 })).rejects.toThrow(RangeError);
    await expect(admin.assumeRole({ durationSeconds: 1.5e3 + 0.5 })).rejects.toThrow(RangeError);
    expect(sent).toHaveLength(0);
  });
});

describe('MinioAdmin errors', () => {
  it('carries status, code and message from a JSON admin error but never the secret keys', async () => {
    const { admin } = scripted(() => jsonError(403, 'SignatureDoesNotMatch', `bad signature for ${ROOT_SECRET} and user-secret-123456`));
    const error = await admin.createUser('u1', 'user-secret-123456').catch((e: unknown) => e);
    expect(error).toBeInstanceOf(StorageAdminError);
    const e = error as StorageAdminError;
    expect(e.status).toBe(403);
    expect(e.code).toBe('SignatureDoesNotMatch');
    expect(e.operation).toBe('createUser');
    expect(e.requestId).toBe('REQ1');
    expect(e.message).toContain('HTTP 403 SignatureDoesNotMatch');
    expect(e.message).not.toContain(ROOT_SECRET);
    expect(e.message).not.toContain('user-secret-123456');
    expect(JSON.stringify(e)).not.toContain(ROOT_SECRET);
  });

  it('reads STS XML errors', async () => {
    const { admin } = scripted(
      () =>
        new Response(
          '<ErrorResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/"><Error><Type></Type><Code>InvalidParameterValue</Code><Message>Policy &quot;x&quot; is invalid</Message></Error><RequestId>R9</RequestId></ErrorResponse>',
          { status: 400, headers: { 'content-type': 'application/xml' } },
        ),
    );
    await expect(admin.assumeRole({ durationSeconds: 900 })).rejects.toMatchObject({
      name: 'StorageAdminError',
      status: 400,
      code: 'InvalidParameterValue',
      serverMessage: 'Policy "x" is invalid',
      requestId: 'R9',
    });
  });

  it('does not swallow other errors on idempotent calls', async () => {
    const { admin } = scripted(() => jsonError(400, 'XMinioIAMPolicyInUse', 'The policy cannot be removed, as it is in use'));
    await expect(admin.deletePolicy('p')).rejects.toMatchObject({ status: 400, code: 'XMinioIAMPolicyInUse' });
  });

  it('maps a network failure to status 0', async () => {
    const { admin } = scripted(() => Promise.reject(new TypeError('fetch failed')));
    await expect(admin.ping()).rejects.toMatchObject({ name: 'StorageAdminError', status: 0, operation: 'ping' });
  });

  it('rejects endpoints with a path', () => {
    expect(() => new MinioAdmin({ endpoint: 'http://h:9000/minio', region: 'r', accessKey: 'a', secretKey: 'b' })).toThrow(TypeError);
  });

  it('rejects malformed STS responses', () => {
    expect(() => parseAssumeRoleResponse('<AssumeRoleResponse><AssumeRoleResult/></AssumeRoleResponse>')).toThrow(StorageAdminError);
    expect(() => parseAssumeRoleResponse('not xml')).toThrow(StorageAdminError);
  });
});
