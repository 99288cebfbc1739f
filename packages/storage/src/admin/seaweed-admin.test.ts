// SeaweedAdmin's IAM query-protocol requests and error mapping against a scripted fetch; the real server is in
// test/storage-admin-conformance.test.ts.
import { describe, expect, it } from 'vitest';
import { SeaweedAdmin } from './seaweed-admin.js';
import { StorageAdminError, type PolicyDocument } from './storage-admin.js';

const ROOT_SECRET = 'root-secret-0123456789abcdef';

interface Sent {
  form: URLSearchParams;
  headers: Headers;
}

function scripted(reply: (form: URLSearchParams) => Response): { admin: SeaweedAdmin; sent: Sent[] } {
  const sent: Sent[] = [];
  const fake = (_input: string | URL | Request, init?: RequestInit): Promise<Response> => {
    const body = init?.body ? Buffer.from(init.body as Uint8Array).toString('utf8') : '';
    const form = new URLSearchParams(body);
    sent.push({ form, headers: new Headers(init?.headers) });
    return Promise.resolve(reply(form));
  };
  return { admin: new SeaweedAdmin({ endpoint: 'http://127.0.0.1:8333', region: 'eu-test-1', accessKey: 'rootuser', secretKey: ROOT_SECRET, fetch: fake }), sent };
}

const iamError = (status: number, code: string, message: string) =>
  new Response(`<ErrorResponse><Error><Type>Sender</Type><Code>${code}</Code><Message>${message}</Message></Error><RequestId>R1</RequestId></ErrorResponse>`, {
    status,
    headers: { 'content-type': 'text/xml' },
  });
const ok = (xml = '<Ok/>') => new Response(xml, { status: 200, headers: { 'content-type': 'text/xml' } });

/** A server where policy p1 (document `stored`) is attached to user u1 (not u2) and role r1. */
function existingPolicyServer(stored: string): (f: URLSearchParams) => Response {
  const members = (list: string, field: string, values: string[]) => `<${list}>${values.map((v) => `<member><${field}>${v}</${field}></member>`).join('')}</${list}>`;
  let p1 = true;
  return (f) => {
    switch (f.get('Action')) {
      case 'CreatePolicy':
        if (f.get('PolicyName') !== 'p1') return ok();
        if (p1) return iamError(409, 'EntityAlreadyExists', 'exists');
        p1 = true;
        return ok();
      case 'DeletePolicy':
        if (f.get('PolicyArn') === 'arn:aws:iam:::policy/p1') p1 = false;
        return ok();
      case 'GetPolicyVersion':
        return ok(`<GetPolicyVersionResponse><GetPolicyVersionResult><PolicyVersion><Document>${encodeURIComponent(stored)}</Document></PolicyVersion></GetPolicyVersionResult></GetPolicyVersionResponse>`);
      case 'ListUsers':
        return ok(`<ListUsersResponse><ListUsersResult>${members('Users', 'UserName', ['u1', 'u2'])}</ListUsersResult></ListUsersResponse>`);
      case 'ListAttachedUserPolicies':
        return ok(`<R><ListAttachedUserPoliciesResult>${members('AttachedPolicies', 'PolicyName', f.get('UserName') === 'u1' ? ['other', 'p1'] : ['other'])}</ListAttachedUserPoliciesResult></R>`);
      case 'ListRoles':
        return ok(`<R><ListRolesResult>${members('Roles', 'RoleName', ['r1'])}</ListRolesResult></R>`);
      case 'ListAttachedRolePolicies':
        return ok(`<R><ListAttachedRolePoliciesResult>${members('AttachedPolicies', 'PolicyName', ['p1'])}</ListAttachedRolePoliciesResult></R>`);
      default:
        return ok();
    }
  };
}

describe('SeaweedAdmin requests', () => {
  it('signs IAM calls for the iam service; an existing policy is kept when equal, replaced under its holders when not', async () => {
    const stored = JSON.stringify({ Version: '2012-10-17', Statement: [{ Effect: 'Allow', Action: 's3:GetObject', Resource: ['arn:aws:s3:::b/*'] }] });
    const { admin, sent } = scripted(existingPolicyServer(stored));
    await admin.putPolicy('p1', { Version: '2012-10-17', Statement: [{ Effect: 'Allow', Action: ['s3:GetObject'], Resource: ['arn:aws:s3:::b/*'] }] });
    expect(sent.map((s) => s.form.get('Action'))).toEqual(['CreatePolicy', 'GetPolicyVersion']);
    expect(sent[0]!.headers.get('authorization')).toMatch(/^AWS4-HMAC-SHA256 Credential=rootuser\/\d{8}\/eu-test-1\/iam\/aws4_request, /);
    sent.length = 0;
    const changed: PolicyDocument = { Version: '2012-10-17', Statement: [{ Effect: 'Allow', Action: ['s3:CreateBucket', 's3:PutObject'], Resource: ['arn:aws:s3:::b/*'] }] };
    await admin.putPolicy('p1', changed);
    // Never CreatePolicyVersion (SeaweedFS refuses s3:CreateBucket there): scratch first, bridged, replaced, cleaned up.
    const line = (f: URLSearchParams) => [f.get('Action'), f.get('PolicyName') ?? f.get('PolicyArn'), f.get('UserName') ?? f.get('RoleName')].filter(Boolean).join(' ');
    expect(sent.map((s) => line(s.form))).toEqual([
      'CreatePolicy p1',
      'GetPolicyVersion arn:aws:iam:::policy/p1',
      'CreatePolicy p1--pending',
      'ListUsers',
      'ListAttachedUserPolicies u1',
      'ListAttachedUserPolicies u2',
      'ListRoles',
      'ListAttachedRolePolicies r1',
      'AttachUserPolicy arn:aws:iam:::policy/p1--pending u1',
      'AttachRolePolicy arn:aws:iam:::policy/p1--pending r1',
      'DetachUserPolicy arn:aws:iam:::policy/p1 u1',
      'DetachRolePolicy arn:aws:iam:::policy/p1 r1',
      'DeletePolicy arn:aws:iam:::policy/p1',
      'CreatePolicy p1',
      'AttachUserPolicy arn:aws:iam:::policy/p1 u1',
      'AttachRolePolicy arn:aws:iam:::policy/p1 r1',
      'DetachUserPolicy arn:aws:iam:::policy/p1--pending u1',
      'DetachRolePolicy arn:aws:iam:::policy/p1--pending r1',
      'DeletePolicy arn:aws:iam:::policy/p1--pending',
    ]);
    expect(JSON.parse(sent[13]!.form.get('PolicyDocument')!)).toEqual(changed);
  });

  it('a replacement that fails after the delete puts the old document back and re-attaches it before throwing', async () => {
    const stored = JSON.stringify({ Version: '2012-10-17', Statement: [{ Effect: 'Allow', Action: ['s3:GetObject'], Resource: ['arn:aws:s3:::b/*'] }] });
    const base = existingPolicyServer(stored);
    let creates = 0;
    const { admin, sent } = scripted((f) => {
      // The second CreatePolicy of p1 (the new document) fails as a server fault would.
      if (f.get('Action') === 'CreatePolicy' && f.get('PolicyName') === 'p1' && ++creates === 2 && f.get('PolicyDocument')!.includes('PutObject')) return iamError(500, 'ServiceFailure', 'disk full');
      return base(f);
    });
    const error = await admin.putPolicy('p1', { Version: '2012-10-17', Statement: [{ Effect: 'Allow', Action: ['s3:PutObject'], Resource: ['arn:aws:s3:::b/*'] }] }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(StorageAdminError);
    const after = sent.slice(sent.findIndex((s) => s.form.get('Action') === 'DeletePolicy') + 2).map((s) => `${s.form.get('Action')} ${s.form.get('PolicyName') ?? s.form.get('PolicyArn')}`);
    expect(after).toEqual([
      'CreatePolicy p1',
      'AttachUserPolicy arn:aws:iam:::policy/p1',
      'AttachRolePolicy arn:aws:iam:::policy/p1',
      'DetachUserPolicy arn:aws:iam:::policy/p1--pending',
      'DetachRolePolicy arn:aws:iam:::policy/p1--pending',
      'DeletePolicy arn:aws:iam:::policy/p1--pending',
    ]);
    expect(JSON.parse(sent.filter((s) => s.form.get('Action') === 'CreatePolicy' && s.form.get('PolicyName') === 'p1').at(-1)!.form.get('PolicyDocument')!)).toEqual(JSON.parse(stored));
  });

  it('a document no server should take is refused before any call', async () => {
    const { admin, sent } = scripted(() => ok());
    const bad = { Version: '2012-10-17', Statement: [{ Effect: 'Maybe', Action: ['s3:GetObject'], Resource: ['arn:aws:s3:::b/*'] }] } as unknown as PolicyDocument;
    await expect(admin.putPolicy('p1', bad)).rejects.toThrow(/putPolicy: invalid policy document: statement 1: Effect must be "Allow" or "Deny"/);
    await expect(admin.putPolicy('p1', { Version: '2012-10-17', Statement: [] })).rejects.toThrow(/Statement must be a non-empty array/);
    await expect(admin.putPolicy('p1', { Version: '2012-10-17', Statement: [{ Effect: 'Allow', Action: ['GetObject'] }] })).rejects.toThrow(/"GetObject" is no service:Action/);
    expect(sent).toEqual([]);
  });

  it('createUser names the user after its key and replaces the key; a name that is no valid key gets none', async () => {
    const { admin, sent } = scripted(() => ok());
    await admin.createUser('atollapi', 'a-secret-value-123');
    expect(sent.map((s) => s.form.get('Action'))).toEqual(['CreateUser', 'DeleteAccessKey', 'CreateAccessKey', 'UpdateAccessKey']);
    expect(sent[2]!.form.get('AccessKeyId')).toBe('atollapi');
    sent.length = 0;
    await admin.createUser('atoll-bulk-p1', 'never-used-secret');
    expect(sent.map((s) => s.form.get('Action'))).toEqual(['CreateUser']);
  });

  it('deleteServiceAccount finds the account by its access key; an unknown key is no error', async () => {
    const list = `<ListServiceAccountsResponse><ListServiceAccountsResult><ServiceAccounts><member><ServiceAccountId>sa:p:1</ServiceAccountId><ParentUser>p</ParentUser><AccessKeyId>ABIAKEY1</AccessKeyId></member></ServiceAccounts></ListServiceAccountsResult></ListServiceAccountsResponse>`;
    const { admin, sent } = scripted((f) => (f.get('Action') === 'ListServiceAccounts' ? ok(list) : ok()));
    await admin.deleteServiceAccount('ABIAKEY1');
    expect(sent.map((s) => s.form.get('Action'))).toEqual(['ListServiceAccounts', 'DeleteServiceAccount']);
    expect(sent[1]!.form.get('ServiceAccountId')).toBe('sa:p:1');
    sent.length = 0;
    await admin.deleteServiceAccount('NOSUCHKEY');
    expect(sent.map((s) => s.form.get('Action'))).toEqual(['ListServiceAccounts']);
  });

  it('deleteUser removes service accounts and access keys first (SeaweedFS refuses otherwise); a missing user is no error', async () => {
    const keys = '<ListAccessKeysResponse><ListAccessKeysResult><AccessKeyMetadata><member><AccessKeyId>k1</AccessKeyId></member></AccessKeyMetadata></ListAccessKeysResult></ListAccessKeysResponse>';
    const { admin, sent } = scripted((f) => (f.get('Action') === 'ListAccessKeys' ? ok(keys) : ok('<ListServiceAccountsResponse/>')));
    await admin.deleteUser('u1');
    expect(sent.map((s) => s.form.get('Action'))).toEqual(['ListServiceAccounts', 'ListAccessKeys', 'DeleteAccessKey', 'DeleteUser']);
    expect(sent[2]!.form.get('AccessKeyId')).toBe('k1');
    const gone = scripted((f) => (f.get('Action') === 'ListAccessKeys' ? iamError(404, 'NoSuchEntity', 'no such user') : ok('<ListServiceAccountsResponse/>')));
    await expect(gone.admin.deleteUser('u1')).resolves.toBeUndefined();
    expect(gone.sent.map((s) => s.form.get('Action'))).toEqual(['ListServiceAccounts', 'ListAccessKeys']);
  });

  it('addServiceAccount returns the pair the server issued', async () => {
    const created = `<CreateServiceAccountResponse><CreateServiceAccountResult><ServiceAccount><AccessKeyId>ABIAISSUED</AccessKeyId><SecretAccessKey>issued-secret</SecretAccessKey></ServiceAccount></CreateServiceAccountResult></CreateServiceAccountResponse>`;
    const { admin, sent } = scripted(() => ok(created));
    const expiresAt = new Date('2030-01-01T00:00:00Z');
    const issued = await admin.addServiceAccount({ parentUser: 'p', accessKey: 'ASKED', secretKey: 'asked-secret', expiresAt });
    expect(issued).toEqual({ accessKey: 'ABIAISSUED', secretKey: 'issued-secret' });
    expect(sent[0]!.form.get('Expiration')).toBe(String(expiresAt.getTime() / 1000));
  });

  it('refuses STS durations SeaweedFS cannot honour, and errors name the code without secrets', async () => {
    const { admin } = scripted(() => iamError(403, 'AccessDenied', `bad key ${ROOT_SECRET}`));
    await expect(admin.assumeRole({ durationSeconds: 13 * 3600 })).rejects.toBeInstanceOf(RangeError);
    const error = await admin.ping().catch((e: unknown) => e);
    expect(error).toBeInstanceOf(StorageAdminError);
    expect((error as StorageAdminError).code).toBe('AccessDenied');
    expect((error as StorageAdminError).message).not.toContain(ROOT_SECRET);
  });
  it('putServiceRole: an existing role gets its trust policy anew and exactly the policies asked for', async () => {
    const attached =
      '<ListAttachedRolePoliciesResponse><ListAttachedRolePoliciesResult><AttachedPolicies><member><PolicyName>old</PolicyName></member><member><PolicyName>keep</PolicyName></member></AttachedPolicies></ListAttachedRolePoliciesResult></ListAttachedRolePoliciesResponse>';
    const reply = (f: URLSearchParams) => (f.get('Action') === 'CreateRole' ? iamError(409, 'EntityAlreadyExists', 'exists') : f.get('Action') === 'ListAttachedRolePolicies' ? ok(attached) : ok());
    const { admin, sent } = scripted(reply);
    await admin.putServiceRole('atollapi-vended', { trustedUser: 'atollapi', policies: ['keep', 'new'] });
    expect(sent.map((s) => [s.form.get('Action'), s.form.get('PolicyArn')])).toEqual([
      ['CreateRole', null],
      ['UpdateAssumeRolePolicy', null],
      ['ListAttachedRolePolicies', null],
      ['DetachRolePolicy', 'arn:aws:iam:::policy/old'],
      ['AttachRolePolicy', 'arn:aws:iam:::policy/new'],
    ]);
    expect(JSON.parse(sent[1]!.form.get('PolicyDocument')!)).toEqual({
      Version: '2012-10-17',
      Statement: [{ Effect: 'Allow', Principal: { AWS: ['arn:aws:iam::000000000000:user/atollapi'] }, Action: ['sts:AssumeRole'] }],
    });
    await expect(admin.putServiceRole('bad/role', { trustedUser: 'atollapi', policies: [] })).rejects.toBeInstanceOf(RangeError);
  });

  it('assumeRole names the role by its ARN when asked, and sends none otherwise', async () => {
    const creds =
      '<AssumeRoleResponse><AssumeRoleResult><Credentials><AccessKeyId>AK</AccessKeyId><SecretAccessKey>SK</SecretAccessKey><SessionToken>TK</SessionToken><Expiration>2030-01-01T00:00:00Z</Expiration></Credentials></AssumeRoleResult></AssumeRoleResponse>';
    const { admin, sent } = scripted(() => ok(creds));
    await admin.assumeRole({ durationSeconds: 900, role: 'atollapi-vended' });
    await admin.assumeRole({ durationSeconds: 900 });
    expect(sent.map((s) => s.form.get('RoleArn'))).toEqual(['arn:aws:iam::000000000000:role/atollapi-vended', null]);
  });
});
