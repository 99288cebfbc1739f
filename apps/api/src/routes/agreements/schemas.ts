// Schemas shared by the agreement routes: one source for validation, types and the OpenAPI document.
import { Type } from '@sinclair/typebox';
import { LicenseTermsSchema } from '@atoll/licensing';
import { Uuid } from '../../schemas.js';

export const AgreementStatusSchema = Type.Union([Type.Literal('pending'), Type.Literal('approved'), Type.Literal('rejected'), Type.Literal('revoked')]);

export const AgreementSchema = Type.Object(
  {
    id: Uuid,
    providerId: Uuid,
    terms: LicenseTermsSchema,
    title: Type.String(),
    description: Type.String(),
    status: AgreementStatusSchema,
    reason: Type.Optional(Type.String({ description: 'why it was rejected or revoked' })),
    createdAt: Type.String({ format: 'date-time' }),
    decidedAt: Type.Optional(Type.String({ format: 'date-time', description: "the operator's latest decision" })),
  },
  { $id: 'Agreement' },
);

export const AgreementParams = Type.Object({ id: Uuid });
export const DecisionReason = Type.Object({ reason: Type.String({ minLength: 1, maxLength: 2000 }) }, { additionalProperties: false });
