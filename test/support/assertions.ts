import { expect } from 'vitest';

/** The one set of assertions on GraphQL answers every suite uses. */

export interface ErrorShape {
  message?: string;
  extensions?: Record<string, unknown>;
}

/** A typed `execute` result (`errors`), a raw `request` result (`json.errors`), or an HTTP answer. */
export interface Answer {
  status?: number;
  text?: string;
  data?: unknown;
  errors?: ErrorShape[];
  json?: { errors?: ErrorShape[] };
}

const errorsOf = (answer: Answer): ErrorShape[] => answer.errors ?? answer.json?.errors ?? [];

/** The codes of an answer's errors, for compact assertions. */
export const errorCodes = (answer: Answer) => errorsOf(answer).map((error) => error.extensions?.code);

/** The `extensions.fields[].field` of an answer's errors. */
export const fieldsOf = (answer: Answer) =>
  errorsOf(answer).flatMap((error) =>
    ((error.extensions?.fields as Array<{ field: string }> | undefined) ?? []).map((problem) => problem.field),
  );

/** The call succeeded: no errors and data. Fails with the errors otherwise, to be readable. */
export function expectOk<T extends Answer>(answer: T): NonNullable<T['data']> {
  expect(errorsOf(answer), JSON.stringify(errorsOf(answer))).toEqual([]);
  expect(answer.data).toBeTruthy();
  return answer.data as NonNullable<T['data']>;
}

/**
 * A refusal a client caused: this code (the only one, or `among` others), never a 500, a stack
 * trace or a masked "Unexpected error.". Returns the error with that code.
 */
export function expectError(answer: Answer, code: string, { among = false } = {}): ErrorShape {
  const codes = errorCodes(answer);
  if (among) expect(codes, answer.text).toContain(code);
  else expect(codes, answer.text ?? JSON.stringify(errorsOf(answer))).toEqual([code]);
  if (answer.status !== undefined) expect(answer.status).toBeLessThan(500);
  const text = answer.text ?? JSON.stringify(errorsOf(answer));
  expect(text).not.toMatch(/\bat .*\.(ts|js):\d+/);
  expect(text).not.toContain('Unexpected error');
  return errorsOf(answer).find((error) => error.extensions?.code === code) as ErrorShape;
}
