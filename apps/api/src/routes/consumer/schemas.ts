// Response schemas shared by the consumer routes.
import { Type } from '@sinclair/typebox';
import { Uuid } from '../../schemas.js';

export const CleanroomKey = Type.Object({
  id: Uuid,
  bucket: Type.String(),
  endpoint: Type.String(),
  region: Type.String(),
  accessKeyId: Type.String(),
  secretAccessKey: Type.String(),
});

export const SubscriptionState = Type.Object({ id: Uuid, status: Type.String() });

export const Run = Type.Object({
  id: Uuid,
  status: Type.String({ description: 'running | succeeded | withheld (under the cohort minimum: nothing new delivered) | failed' }),
  startedAt: Type.String(),
  finishedAt: Type.Union([Type.String(), Type.Null()]),
  recordsAdded: Type.Union([Type.Integer(), Type.Null()]),
  recordsRemoved: Type.Union([Type.Integer(), Type.Null()]),
  snapshotId: Type.Union([Type.String(), Type.Null()]),
  reason: Type.Union([Type.String(), Type.Null()]),
  error: Type.Union([Type.String(), Type.Null()]),
});

/** A buyer's application and the operator's decision (GET and PUT /v1/consumers/me). */
export const Application = Type.Object({
  id: Uuid,
  name: Type.String(),
  status: Type.Union([Type.Literal('pending'), Type.Literal('approved'), Type.Literal('rejected')]),
  useCase: Type.Object({ category: Type.String(), description: Type.String() }),
  reason: Type.Union([Type.String(), Type.Null()], { description: 'why the application was rejected or the approval withdrawn' }),
  createdAt: Type.String(),
  decidedAt: Type.Union([Type.String(), Type.Null()]),
});
