export interface PageRequest {
  page: number;
  perPage: number;
  offset: number;
}

export const pageRequest = (query: { page?: number; per_page?: number }): PageRequest => {
  const page = query.page ?? 1;
  const perPage = query.per_page ?? 10;
  return { page, perPage, offset: (page - 1) * perPage };
};

export const pageOf = <K extends string, T>(plural: K, items: T[], total: number, request: PageRequest) =>
  ({
    [plural]: items,
    total,
    pages: Math.ceil(total / request.perPage),
    current_page: request.page,
    per_page: request.perPage,
  }) as { [P in K]: T[] } & { total: number; pages: number; current_page: number; per_page: number };

/** The same envelope around items that are JSON text already (built by the database). */
export const jsonPageOf = (plural: string, items: string[], total: number, request: PageRequest): string =>
  `{"${plural}":[${items.join(',')}],"total":${total},"pages":${Math.ceil(total / request.perPage)},"current_page":${request.page},"per_page":${request.perPage}}`;
