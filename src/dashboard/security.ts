/**
 * The dashboard's request checks, applied before any route:
 * - DNS rebinding: a request whose `Host` is not a loopback address or `localhost` with the served
 *   port is refused, so a hostile page that re-points its own domain at 127.0.0.1 cannot read
 *   anything. `--allow-remote` adds IP addresses (never names: those are what rebinding uses),
 *   `--allowed-host` adds names the user trusts.
 * - Cross-site requests (Fetch Metadata) are refused except a top-level navigation.
 * - Every state-changing request must be same-origin (`Origin`, else `Referer`, must equal the
 *   served origin) and carry the per-process token (`X-CMCS-Token` header or `_token` form field).
 * - Every response gets a Content-Security-Policy and the usual hardening headers.
 */
import type { Context, MiddlewareHandler } from "hono";
import type { DashboardContext } from "./context.ts";

/** The header the islands send the CSRF token in, and the form field of the no-JavaScript forms. */
export const TOKEN_HEADER = "X-CMCS-Token";
export const TOKEN_FIELD = "_token";

export const CONTENT_SECURITY_POLICY = [
  "default-src 'none'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self' data:",
  "connect-src 'self'",
  "base-uri 'none'",
  "form-action 'self'",
  "frame-ancestors 'none'",
].join("; ");

const SAFE_METHODS = new Set(["GET", "HEAD"]);

/** True for an address that only this machine can reach (127.0.0.0/8, ::1, localhost). */
export function isLoopbackHost(host: string): boolean {
  const bare = host.replace(/^\[|\]$/g, "").toLowerCase();
  return bare === "localhost" || bare === "::1" || /^127(?:\.\d{1,3}){3}$/.test(bare);
}

/** The middleware enforcing everything described above. */
export function security(ctx: DashboardContext): MiddlewareHandler {
  return async (c, next) => {
    const host = requestHost(c);
    if (!hostAllowed(host, ctx)) {
      return refuse(
        c,
        `refused: Host "${host ?? ""}" is not an address of this dashboard${
          ctx.allowRemote ? " (names need --allowed-host)" : ""
        }`,
      );
    }
    const site = c.req.header("Sec-Fetch-Site");
    const navigation = c.req.method === "GET" && c.req.header("Sec-Fetch-Mode") === "navigate";
    if (site === "cross-site" && !navigation) {
      return refuse(c, "refused: cross-site request");
    }
    if (!SAFE_METHODS.has(c.req.method)) {
      const problem = await stateChangeProblem(c, host, ctx.token);
      if (problem) return refuse(c, problem);
    }
    await next();
    setSecurityHeaders(c.res.headers);
  };
}

function setSecurityHeaders(headers: Headers): void {
  headers.set("Content-Security-Policy", CONTENT_SECURITY_POLICY);
  headers.set("X-Content-Type-Options", "nosniff");
  headers.set("X-Frame-Options", "DENY");
  headers.set("Referrer-Policy", "same-origin");
  headers.set("Cross-Origin-Opener-Policy", "same-origin");
  headers.set("Cross-Origin-Resource-Policy", "same-origin");
  if (!headers.has("Cache-Control")) headers.set("Cache-Control", "no-store");
}

/** The `Host` header, or the request URL's host when there is none (a request built in a test). */
function requestHost(c: Context): string | null {
  const header = c.req.header("Host");
  if (header !== undefined) return header.trim().toLowerCase();
  try {
    return new URL(c.req.url).host.toLowerCase();
  } catch {
    return null;
  }
}

function hostAllowed(host: string | null, ctx: DashboardContext): boolean {
  if (!host) return false;
  const match = /^(\[[^\]]*\]|[^:]+)(?::(\d+))?$/.exec(host);
  if (!match) return false;
  const name = match[1];
  const known = isLoopbackHost(name) || ctx.allowedHosts.includes(name) ||
    (ctx.allowRemote && _isIpAddress(name));
  if (!known) return false;
  return ctx.port === undefined || Number(match[2] ?? 80) === ctx.port;
}

/** An IPv4 address or a bracketed IPv6 address, as a `Host` header carries them. */
function _isIpAddress(name: string): boolean {
  return /^\d{1,3}(?:\.\d{1,3}){3}$/.test(name) || /^\[[0-9a-f:.]+\]$/.test(name);
}

async function stateChangeProblem(
  c: Context,
  host: string | null,
  token: string,
): Promise<string | null> {
  const served = `http://${host}`;
  const site = c.req.header("Sec-Fetch-Site");
  if (site !== undefined && site !== "same-origin") {
    return `refused: a ${site} request cannot change anything here`;
  }
  const origin = c.req.header("Origin");
  if (origin !== undefined) {
    if (origin !== served) return `refused: Origin ${origin} is not ${served}`;
  } else {
    const referer = c.req.header("Referer");
    if (referer !== undefined && originOf(referer) !== served) {
      return "refused: the request did not come from this dashboard";
    }
  }
  let sent = c.req.header(TOKEN_HEADER);
  if (sent === undefined) {
    const type = c.req.header("Content-Type") ?? "";
    if (
      type.startsWith("application/x-www-form-urlencoded") || type.startsWith("multipart/form-data")
    ) {
      const body = await c.req.parseBody().catch(() => ({} as Record<string, unknown>));
      const field = body[TOKEN_FIELD];
      if (typeof field === "string") sent = field;
    }
  }
  if (sent === undefined) return "refused: the request carries no dashboard token";
  if (!sameToken(sent, token)) return "refused: wrong dashboard token (reload the page)";
  return null;
}

function originOf(url: string): string | null {
  try {
    return new URL(url).origin;
  } catch {
    return null;
  }
}

/** Compares in time independent of where the strings differ. */
function sameToken(a: string, b: string): boolean {
  const x = new TextEncoder().encode(a);
  const y = new TextEncoder().encode(b);
  let diff = x.length ^ y.length;
  for (let i = 0; i < Math.max(x.length, y.length); i++) diff |= (x[i] ?? 0) ^ (y[i] ?? 0);
  return diff === 0;
}

function refuse(c: Context, message: string): Response {
  const response = c.req.path.startsWith("/api/")
    ? c.json({ error: message }, 403)
    : c.text(message, 403);
  setSecurityHeaders(response.headers);
  return response;
}
