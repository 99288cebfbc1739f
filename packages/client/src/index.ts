// Public surface of @atoll/client: the device-side library (Node and browsers).
export { AtollClient, AtollClientError, JWT_BEARER, init, type AtollClientOptions, type CreatedLicense, type DeviceScope, type LicenseDocument, type LicenseStatus, type LicenseUse } from './client.js';
export { generateDeviceKeyPair, signUtf8, type DeviceKeyPair } from './keys.js';
export { memoryStorage, webStorage, type DeviceStorage, type StoredDevice, type WebStorageLike } from './storage.js';
