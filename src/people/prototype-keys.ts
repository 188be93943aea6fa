/**
 * Names that reach an object's prototype when used as a key: `obj["__proto__"] = v` replaces the
 * prototype, and a path walked through `__proto__` or `constructor.prototype` lands on
 * Object.prototype, which every object in the process shares (issue 27: a SCIM PATCH to
 * `__proto__.groups` put everyone in a group). No person field, SCIM attribute or custom attribute
 * needs them, so every intake path refuses them as keys or path segments instead of trying to
 * assign them safely. Matched ignoring case, as SCIM attribute names are (RFC 7643 §2.1).
 */
export const PROTOTYPE_KEYS = ['__proto__', 'constructor', 'prototype'] as const;

const FORBIDDEN = new Set<string>(PROTOTYPE_KEYS);

export function isPrototypeKey(key: string): boolean {
  return FORBIDDEN.has(key.toLowerCase());
}

/**
 * The path (`data.attributes.__proto__`) of the first prototype key anywhere in a parsed JSON value,
 * or undefined when there is none. JSON.parse makes `"__proto__"` an own property (harmless in
 * itself), so this must run on the parsed value before anything copies or merges it. Walked with
 * a stack rather than recursion, so a deeply nested body cannot overflow the call stack.
 */
export function findPrototypeKey(value: unknown): string | undefined {
  const stack: { value: unknown; path: string[] }[] = [{ value, path: [] }];
  while (stack.length > 0) {
    const { value: node, path } = stack.pop()!;
    if (node === null || typeof node !== 'object') continue;
    const keys = Array.isArray(node) ? node.map((_, i) => String(i)) : Object.keys(node);
    for (const key of keys) if (!Array.isArray(node) && isPrototypeKey(key)) return [...path, key].join('.');
    // Pushed in reverse so the first key is looked into first: the path reported is the first one.
    for (const key of keys.reverse()) stack.push({ value: (node as Record<string, unknown>)[key], path: [...path, key] });
  }
  return undefined;
}

export const PROTOTYPE_KEY_MESSAGE = `is not allowed: ${PROTOTYPE_KEYS.join(', ')} cannot be used as field or attribute names`;
