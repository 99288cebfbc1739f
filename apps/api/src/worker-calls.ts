// Work the api asks of the cleanroom worker and waits for (request/reply over BullMQ, answers sealed to the caller):
// consumer SQL (estimates) and everything that needs MinIO admin rights (cleanroom and bulk keys), which the public
// api does not hold. A worker's user-facing error comes back as the same AtollError.
import { AtollError } from '@atoll/errors';
import { CallTimeoutError, type JobDefinition, type Producer } from '@atoll/queue';

export type WorkerCall = <T extends object, R>(def: JobDefinition<T>, data: T) => Promise<R>;

export function workerCaller(producer: Producer, timeoutMs: number): WorkerCall {
  return async <T extends object, R>(def: JobDefinition<T>, data: T): Promise<R> => {
    let outcome;
    try {
      outcome = await producer.call<T, R>(def, data, timeoutMs);
    } catch (e) {
      if (e instanceof CallTimeoutError) throw new AtollError('DEPENDENCY_UNAVAILABLE', `the cleanroom worker did not answer within ${timeoutMs} ms`);
      throw e;
    }
    if (!outcome.ok) throw AtollError.revive(outcome.error);
    return outcome.value;
  };
}
