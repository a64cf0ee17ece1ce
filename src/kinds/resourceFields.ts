import type { z } from 'zod';

/** Key Vault secret names: letters, digits and `-`, 1-127 characters. */
const SECRET_NAME = /^[0-9A-Za-z-]{1,127}$/;

/**
 * A resource item's fields read through a kind's zod schema (every field optional): the parsed
 * fields, or `undefined` after each issue was reported as `"field": message`.
 */
export function parseFields<Schema extends z.ZodType>(
  schema: Schema,
  raw: Readonly<Record<string, unknown>>,
  fail: (message: string) => void,
): z.output<Schema> | undefined {
  const parsed = schema.safeParse(raw);
  if (parsed.success) return parsed.data;
  for (const issue of parsed.error.issues) fail(`"${issue.path.join('.')}": ${issue.message}`);
  return undefined;
}

/** `secretName`, required: the Key Vault secret holding the resource's key. */
export function checkSecretName(input: string | undefined, fail: (message: string) => void): string | undefined {
  const secretName = input?.trim() ?? '';
  if (!secretName) fail('"secretName" is required: the name of the Key Vault secret that holds this resource\'s key');
  else if (!SECRET_NAME.test(secretName))
    fail(`"secretName" "${secretName}" is not a valid Key Vault secret name (letters, digits and "-", at most 127)`);
  else return secretName;
  return undefined;
}
