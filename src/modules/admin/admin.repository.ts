import type { SqlFigure } from '../../db/fragments.ts';
import { figuresStatement } from '../../db/prepared.ts';

/**
 * The admin module owns no table: its statement is the figures other modules lend it (a scalar
 * subquery each over their own tables), read together.
 */
export const platformFiguresStatement = <F extends Record<string, SqlFigure<unknown>>>(figures: F) => figuresStatement('admin_stats', figures);
