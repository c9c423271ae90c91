import { PGlite } from '@electric-sql/pglite';
import { PGLITE_INITDB_PARAMS, PGLITE_START_PARAMS } from './pglite-settings.ts';

/**
 * `node src/db/pglite-initdb.ts <folder>`: creates an embedded database in an empty folder and
 * exits. `openDatabase` runs it as a child process the first time a DATA_DIR is used (see there).
 */

const folder = process.argv[2];
if (!folder) throw new Error('usage: pglite-initdb.ts <folder>');
const client = await PGlite.create(folder, { startParams: PGLITE_START_PARAMS, initDbStartParams: PGLITE_INITDB_PARAMS });
await client.close();
