import module from 'node:module';

/**
 * Loaded first by every npm script (`node --import ./src/compile-cache.js …`). Node strips the
 * types of each .ts file with a WebAssembly build of swc that, once loaded, stays in the process:
 * ~20 MB of RSS and a second of start-up. With the compile cache on, Node keeps each file's
 * stripped source and V8 code cache on disk (keyed by the file's content, so an edited file is
 * stripped again), and a later start loads neither the stripper nor the compiler's work
 * (bench/README.md, "Memory"). This file is JavaScript so that loading it needs no stripping.
 *
 * The cache lives in NODE_COMPILE_CACHE when set, else in the system's temp folder
 * (`node-compile-cache`); NODE_DISABLE_COMPILE_CACHE=1 turns it off.
 */
module.enableCompileCache?.();
