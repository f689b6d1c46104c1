/**
 * Query and path parameters: numbers are validated (anything but digits is a 400) and bounded (a
 * huge page or limit is clamped, never passed to SQLite as is).
 */

/** An error with an HTTP status; the app turns it into JSON under /api/ and a page elsewhere. */
export class HttpError extends Error {
  constructor(readonly status: 400 | 403 | 404 | 405 | 409 | 500, message: string) {
    super(message);
  }
}

/** The largest page number accepted; larger values are clamped to it. */
export const MAX_PAGE = 1_000_000;

/**
 * A whole-number parameter: missing or empty gives `fallback`; anything but digits is a 400
 * naming the parameter; the value is clamped to [min, max].
 */
export function intParam(
  value: string | undefined | null,
  name: string,
  bounds: { min: number; max: number; fallback: number },
): number {
  if (value === undefined || value === null || value === "") return bounds.fallback;
  if (!/^\d+$/.test(value)) {
    throw new HttpError(400, `${name} must be a whole number, got "${clipValue(value)}"`);
  }
  const n = Number(value);
  return Math.min(bounds.max, Math.max(bounds.min, Number.isFinite(n) ? n : bounds.max));
}

export interface Paging {
  page: number;
  limit: number;
  offset: number;
}

/** `page` (1-based) and `limit` parameters with the route's default and maximum page size. */
export function paging(
  page: string | undefined,
  limit: string | undefined,
  sizes: { default: number; max: number },
  pageName = "page",
): Paging {
  const p = intParam(page, pageName, { min: 1, max: MAX_PAGE, fallback: 1 });
  const l = intParam(limit, "limit", { min: 1, max: sizes.max, fallback: sizes.default });
  return { page: p, limit: l, offset: (p - 1) * l };
}

/**
 * A run (or other row) id from the path: digits only (else 400); an id beyond any stored one is
 * reported as not found by the caller, so it is returned as -1 instead of a rounded number.
 */
export function idParam(value: string, name = "run id"): number {
  if (!/^\d+$/.test(value)) {
    throw new HttpError(400, `${name} must be a whole number, got "${clipValue(value)}"`);
  }
  const n = Number(value);
  return Number.isSafeInteger(n) ? n : -1;
}

/** Page count for `total` rows (at least 1, so "page 1 of 1" is shown for an empty list). */
export function pageCount(total: number, limit: number): number {
  return Math.max(1, Math.ceil(total / limit));
}

function clipValue(value: string): string {
  return value.length > 40 ? `${value.slice(0, 40)}…` : value;
}
