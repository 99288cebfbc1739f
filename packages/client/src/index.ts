// Public surface of @atoll/client; filled by the client library work.
export {};
