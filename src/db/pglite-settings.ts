import { PGlite } from '@electric-sql/pglite';

/**
 * PostgreSQL settings of the embedded database. PGlite's PostgreSQL runs with initdb's
 * shared_buffers of 128 MB, and inside WebAssembly all of it is resident from the start
 * (measured: the process's RSS follows shared_buffers one for one). The embedded database is a
 * development and demo store of a few MB; 16 MB (2,048 pages) holds it, and a page it does not
 * hold is a read through PGlite's file system (the OS cache) away. initdb is given the same
 * value, for its own run and for the postgresql.conf it writes.
 */
export const PGLITE_START_PARAMS = [...PGlite.defaultStartParams, '-c', 'shared_buffers=16MB'];
export const PGLITE_INITDB_PARAMS = ['-c', 'shared_buffers=16MB'];
