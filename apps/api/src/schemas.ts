// Shared TypeBox schemas of the public API (SPEC §3–§6): one source for validation, types and OpenAPI.
import { Type, type Static } from '@sinclair/typebox';

export const ErrorResponse = Type.Object(
  {
    error: Type.Object({
      code: Type.String(),
      message: Type.String(),
      details: Type.Optional(Type.Record(Type.String(), Type.Unknown())),
    }),
  },
  { $id: 'ErrorResponse' },
);

export const errorResponses = {
  400: ErrorResponse,
  401: ErrorResponse,
  403: ErrorResponse,
  404: ErrorResponse,
  409: ErrorResponse,
};

export const Uuid = Type.String({ format: 'uuid', pattern: '^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$' });
export const Name = Type.String({ minLength: 1, maxLength: 200 });
export const Identifier = Type.String({ pattern: '^[a-z][a-z0-9_]{0,62}$', description: 'lower-case letters, digits and _' });

export const usecases = ['attribution', 'retargeting', 'personalization', 'ai_training', 'distribution', 'analytics', 'support'] as const;
export const UseCaseCategory = Type.String({ pattern: `^(${usecases.join('|')}|custom:[a-z0-9_-]{1,40})$` });
/** A buyer's documented use case (SPEC §3): its category and what it does with the data. */
export const UseCase = Type.Object({ category: UseCaseCategory, description: Type.String({ minLength: 10, maxLength: 4000 }) }, { additionalProperties: false });

export const ColumnTypeSchema = Type.String({
  pattern: '^(string|long|double|boolean|date|timestamp|decimal\\(([1-9]|[1-3][0-9]),([0-9]|[1-3][0-9])\\))$',
});
export const ColumnRole = Type.Union([Type.Literal('user_id'), Type.Literal('identity'), Type.Literal('event_time'), Type.Literal('data')]);
export const Column = Type.Object(
  { name: Identifier, type: ColumnTypeSchema, role: Type.Optional(ColumnRole), format: Type.Optional(Type.String({ maxLength: 100 })) },
  { additionalProperties: false },
);
export type ColumnSpec = Static<typeof Column>;
