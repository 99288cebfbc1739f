// The README's quickstart, runnable as is: a provider backend fetches an attestation, the device registers, signs a
// license, checks its status and uploads records.
import { init, memoryStorage } from '@atoll/client';

export async function quickstart(opts: { baseUrl: string; providerToken: string; userId: string }) {
  // 1. Your backend (with the provider's API credentials) vouches for the signed-in user.
  const res = await fetch(`${opts.baseUrl}/v1/devices/attestations`, {
    method: 'POST',
    headers: { authorization: `Bearer ${opts.providerToken}`, 'content-type': 'application/json' },
    body: JSON.stringify({ userId: opts.userId }),
  });
  const { attestation } = (await res.json()) as { attestation: string };

  // 2. On the device: make a key pair (kept by the storage hook), register with the attestation.
  const atoll = init({ baseUrl: opts.baseUrl, storage: memoryStorage() });
  await atoll.createKeys();
  const { deviceId, tid } = await atoll.register(attestation);

  // 3. Show the user what they license, then sign it with the device key.
  const document = await atoll.buildLicense({
    tables: ['events'],
    tags: ['app_events'],
    uses: [{ usecases: ['analytics'], destinations: ['*'] }],
    terms: { sha256: 'a'.repeat(64), uri: 'https://example.com/terms/v1' },
    expiry: new Date(Date.now() + 365 * 86_400_000),
  });
  console.log(atoll.showLicense(document).summary);
  const license = await atoll.signLicense(document);

  // 4. Upload records for this user: no user_id, the server fills it from the token.
  const status = await atoll.licenseStatus(['events']);
  const upload = await atoll.upload('events', [{ kind: 'click', value: 1 }]);
  return { deviceId, tid, licenseId: license.id, active: status.active, upload };
}
