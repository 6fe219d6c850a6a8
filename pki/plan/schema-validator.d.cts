// The validator scripts/compile-validator.mjs generates (dist/pki/plan/schema-validator.cjs).
import type { ValidateFunction } from 'ajv';

declare const validate: ValidateFunction;
export = validate;
