// Public surface of @atoll/licensing; filled by the licensing work.
export {};
