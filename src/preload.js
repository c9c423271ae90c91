import module from 'node:module';

/**
 * Loaded first by every npm script (`node --import ./src/preload.js …`), in this order:
 *
 * 1. Node's compile cache. Node strips the types of each .ts file with a WebAssembly build of swc
 *    that, once loaded, stays in the process: ~20 MB of RSS and a second of start-up. With the
 *    cache on, Node keeps each file's stripped source and V8 code cache on disk (keyed by the
 *    file's content, so an edited file is stripped again), and a later start loads neither the
 *    stripper nor the compiler's work (bench/README.md, "Memory"). It lives in NODE_COMPILE_CACHE
 *    when set, else in the system's temp folder (`node-compile-cache`); NODE_DISABLE_COMPILE_CACHE=1
 *    turns it off. This file is JavaScript so that loading it needs no stripping, and the cache is
 *    on before the first .ts file.
 * 2. The module-resolution hooks of src/module-hooks.ts, registered before the entry point is
 *    resolved.
 */
module.enableCompileCache?.();
await import('./module-hooks.ts');
