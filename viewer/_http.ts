/**
 * HTTP plumbing shared by the viewer's routes: security headers, the
 * read-only method guard, JSON errors and strict query-parameter parsing.
 *
 * @module
 */
import type { Context, MiddlewareHandler } from "hono";

/** A client mistake; answered with `{ "error": message }` and `status`. */
export class HttpError extends Error {
  constructor(readonly status: 400 | 404 | 405 | 422, message: string) {
    super(message);
    this.name = "HttpError";
  }
}

/**
 * The policy every response carries: same-origin scripts only (no inline
 * script, no eval), no plugins, no framing, no form posts.
 */
export const CSP = [
  "default-src 'self'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self' data:",
  "connect-src 'self'",
  "object-src 'none'",
  "base-uri 'none'",
  "frame-ancestors 'none'",
  "form-action 'none'",
].join("; ");

/** Adds the security headers to every response, errors included. */
export const securityHeaders: MiddlewareHandler = async (c, next) => {
  await next();
  const h = c.res.headers;
  h.set("Content-Security-Policy", CSP);
  h.set("X-Content-Type-Options", "nosniff");
  h.set("Referrer-Policy", "no-referrer");
  h.set("X-Frame-Options", "DENY");
  h.set("Cross-Origin-Opener-Policy", "same-origin");
};

/** Refuses every method but GET and HEAD: the viewer never changes anything. */
export const readOnly: MiddlewareHandler = async (c, next) => {
  const m = c.req.method;
  if (m !== "GET" && m !== "HEAD") {
    return c.json({ error: `method ${m} not allowed: the viewer is read-only` }, 405, { Allow: "GET, HEAD" });
  }
  await next();
};

/**
 * Refuses requests whose Host header is not one of `hosts` (421 Misdirected
 * Request): a page on another origin that rebinds its DNS name to this
 * address still sends its own name as the Host.
 */
export function hostCheck(hosts: readonly string[]): MiddlewareHandler {
  return async (c, next) => {
    const host = (c.req.header("host") ?? "").toLowerCase();
    // `hosts` is read on each request: the server fills it in once it knows its port.
    if (!hosts.includes(host) && !(hosts.includes("*ip") && isIpLiteralHost(host))) {
      return c.json({ error: `host '${host.slice(0, 80)}' is not this viewer's address` }, 421);
    }
    await next();
  };
}

/** Whether `host` (a Host header) names an IP address, not a DNS name (which could be rebound). */
function isIpLiteralHost(host: string): boolean {
  return /^(\d{1,3}(\.\d{1,3}){3}|\[[0-9a-f:.]+\])(:\d{1,5})?$/.test(host);
}

/**
 * The Host values a server bound to `hostname`:`port` answers to: loopback
 * adds its usual names; a wildcard bind ("0.0.0.0", "::") accepts any IP
 * literal (marked "*ip") but no DNS name other than localhost.
 */
export function hostsFor(hostname: string, port: number): string[] {
  const bracket = (h: string) => (h.includes(":") ? `[${h}]` : h);
  const names = [hostname];
  const wildcard = hostname === "0.0.0.0" || hostname === "::";
  if (wildcard) names.push("localhost");
  if (hostname === "127.0.0.1" || hostname === "::1" || hostname === "localhost") {
    names.push("localhost", "127.0.0.1", "::1");
  }
  const out = names.map((h) => `${bracket(h)}:${port}`);
  if (port === 80) out.push(...names.map(bracket));
  if (wildcard) out.push("*ip");
  return [...new Set(out)];
}

/** A JSON error response. */
export function jsonError(c: Context, status: number, message: string): Response {
  return c.json({ error: message }, status as 400);
}

/** Query parameter `name` as an integer in [min, max], or `dflt` when absent; 400 otherwise. */
export function intParam(c: Context, name: string, dflt: number, min = 0, max = Number.MAX_SAFE_INTEGER): number {
  const raw = c.req.query(name);
  if (raw === undefined || raw === "") return dflt;
  if (!/^-?\d{1,16}$/.test(raw)) throw new HttpError(400, `${name} must be an integer, got '${raw.slice(0, 40)}'`);
  const v = Number(raw);
  if (!Number.isSafeInteger(v) || v < min || v > max) throw new HttpError(400, `${name} must be in ${min}..${max}`);
  return v;
}

/** Query parameter `name` as a non-negative number (nanoseconds), or `dflt` when absent; 400 otherwise. */
export function nsParam(c: Context, name: string, dflt: number): number {
  const raw = c.req.query(name);
  if (raw === undefined || raw === "") return dflt;
  if (!/^\d{1,16}(\.\d{1,9})?$/.test(raw)) throw new HttpError(400, `${name} must be a non-negative number of ns`);
  return Number(raw);
}

/** Query parameter `name` as a comma-separated list (empty items dropped), or undefined when absent. */
export function listParam(c: Context, name: string): string[] | undefined {
  const raw = c.req.query(name);
  if (raw === undefined || raw === "") return undefined;
  const items = raw.split(",").map((s) => s.trim()).filter((s) => s !== "");
  if (items.length > 256) throw new HttpError(400, `${name}: too many values`);
  return items;
}
