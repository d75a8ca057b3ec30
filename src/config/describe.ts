// Short renderings of arbitrary parsed values for error messages.

const MAX_SHOWN = 60;

export function describeValue(value: unknown): string {
  if (value === undefined) return 'nothing';
  if (value === null) return 'an empty value (null)';
  if (Array.isArray(value)) return 'a list';
  if (typeof value === 'object') return 'a mapping';
  if (typeof value === 'string') {
    const shown = JSON.stringify(value);
    return shown.length > MAX_SHOWN ? `${shown.slice(0, MAX_SHOWN - 4)}..."` : shown;
  }
  return String(value);
}

/** zod's type names as a user would say them. */
export function describeExpected(expected: string): string {
  switch (expected) {
    case 'string': return 'a string';
    case 'number': return 'a number';
    case 'integer': return 'an integer';
    case 'boolean': return 'true or false';
    case 'array': return 'a list';
    case 'object': return 'a mapping';
    default: return expected;
  }
}
