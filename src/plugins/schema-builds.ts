import { SerializerSelector } from '@fastify/fast-json-stringify-compiler';

/**
 * Route schemas compiled on first use rather than all at start-up: Ajv and fast-json-stringify
 * compiling every route's parts and every status of its answers (each error status its own copy)
 * took ~1 s of the ~3.5 s a later `npm start` needed to get ready (bench/README.md, "Start-up").
 * Every build is remembered, so a test can still compile them all and catch a broken schema
 * without sending each route a request.
 */
export class SchemaBuilds {
  private readonly builds: (() => unknown)[] = [];

  /** `build`, run once on the first call of what it returns. */
  lazy<T>(build: () => T): () => T {
    let built: T | undefined;
    const get = () => (built ??= build());
    this.builds.push(get);
    return get;
  }

  /** Compiles every schema not compiled yet; how many builds there are. */
  compileAll(): number {
    for (const build of this.builds) build();
    return this.builds.length;
  }

  /**
   * Fastify's response serializer factory, building each route's serializer for a status on its
   * first answer. Each build gets options of its own, because the stock compiler edits the options
   * it is given (it drops a schema's own `$id` from the shared schemas), which would make one
   * route's build depend on which routes answered before it.
   */
  serializerFactory(): ReturnType<typeof SerializerSelector> {
    const select = SerializerSelector();
    return (externalSchemas, options) => (route) => {
      const serializer = this.lazy(() => select(externalSchemas, options)(route));
      return (document) => serializer()(document);
    };
  }
}
