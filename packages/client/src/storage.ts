// Where the device keeps its key pair and registration: a small hook the app implements (keychain, IndexedDB, a file),
// with an in-memory and a Web Storage implementation for tests and simple pages.

export interface StoredDevice {
  privateKeyPem: string;
  publicKeyPem: string;
  deviceId?: string;
  tid?: string;
  providerId?: string;
}

export interface DeviceStorage {
  load(): Promise<StoredDevice | null>;
  save(device: StoredDevice): Promise<void>;
  clear(): Promise<void>;
}

export function memoryStorage(initial: StoredDevice | null = null): DeviceStorage {
  let value = initial;
  return {
    async load() {
      return value;
    },
    async save(device) {
      value = { ...device };
    },
    async clear() {
      value = null;
    },
  };
}

/** The part of the Web Storage API (localStorage, sessionStorage) this needs. */
export interface WebStorageLike {
  getItem(key: string): string | null;
  setItem(key: string, value: string): void;
  removeItem(key: string): void;
}

/**
 * Keeps the key pair in Web Storage as JSON. Convenient, but any script on the origin can read it: prefer a
 * platform keystore where the app has one.
 */
export function webStorage(store: WebStorageLike, key = 'atoll.device'): DeviceStorage {
  return {
    async load() {
      const raw = store.getItem(key);
      return raw ? (JSON.parse(raw) as StoredDevice) : null;
    },
    async save(device) {
      store.setItem(key, JSON.stringify(device));
    },
    async clear() {
      store.removeItem(key);
    },
  };
}
