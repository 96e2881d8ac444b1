/** What the JSON scalar carries: typed clients get this instead of `unknown` (codegen.ts maps it). */
export type JsonValue = string | number | boolean | null | JsonValue[] | { [key: string]: JsonValue };
