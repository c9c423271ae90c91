// node-postgres's own conversion of a parameter's value to the text (or bytes) it sends; the
// package's types do not declare its lib/utils module.
declare module 'pg/lib/utils.js' {
  export function prepareValue(value: unknown): string | Buffer | null;
}
