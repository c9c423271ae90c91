/**
 * The operations of the published OpenAPI document, in the shape the fuzzer needs. Everything the
 * fuzzer knows about a route comes from here, so a route added to the service is fuzzed without
 * anyone editing the fuzzer.
 */

export type Schema = Record<string, any>;

export interface OpenApi {
  paths: Record<string, Record<string, any>>;
  components: { schemas: Record<string, Schema> };
}

export interface Parameter {
  name: string;
  in: 'path' | 'query' | 'header';
  required: boolean;
  schema: Schema;
}

export interface Operation {
  method: string;
  /** The document's template, e.g. `/api/spaces/{id}/images/{image_id}`. */
  path: string;
  operationId: string;
  parameters: Parameter[];
  /** Media type → schema of the request body; empty when the document describes none. */
  bodies: Record<string, Schema>;
  bodyRequired: boolean;
  secured: boolean;
}

const METHODS = ['get', 'put', 'post', 'patch', 'delete'];

export function operationsOf(document: OpenApi): Operation[] {
  const operations: Operation[] = [];
  for (const [path, item] of Object.entries(document.paths)) {
    for (const method of METHODS) {
      const operation = item[method];
      if (!operation) continue;
      const content: Record<string, { schema?: Schema }> = operation.requestBody?.content ?? {};
      operations.push({
        method: method.toUpperCase(),
        path,
        operationId: operation.operationId ?? `${method} ${path}`,
        parameters: (operation.parameters ?? []).map((parameter: Parameter) => ({
          name: parameter.name,
          in: parameter.in,
          required: Boolean(parameter.required),
          schema: parameter.schema ?? {},
        })),
        bodies: Object.fromEntries(Object.entries(content).map(([type, media]) => [type, media.schema ?? {}])),
        bodyRequired: Boolean(operation.requestBody?.required),
        secured: Array.isArray(operation.security) && operation.security.length > 0,
      });
    }
  }
  return operations;
}

/** The codes the document says an error body may carry (the Error component's `x-error-codes`). */
export function documentedErrorCodes(document: OpenApi): Set<string> {
  const codes = document.components.schemas.Error?.['x-error-codes'];
  if (!Array.isArray(codes)) throw new Error('the Error component lists no x-error-codes');
  return new Set(codes as string[]);
}

export function resolve(document: OpenApi, schema: Schema): Schema {
  let current = schema;
  for (let hops = 0; typeof current.$ref === 'string' && hops < 10; hops++) {
    current = document.components.schemas[current.$ref.replace('#/components/schemas/', '')] ?? {};
  }
  return current;
}
