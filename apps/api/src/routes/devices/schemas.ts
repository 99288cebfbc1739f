// Schemas shared by the device and user routes.
import { Type } from '@sinclair/typebox';

/** A provider's own opaque user id: any non-empty text up to 256 characters. */
export const UserId = Type.String({ minLength: 1, maxLength: 256 });
