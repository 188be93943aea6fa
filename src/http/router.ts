import type { IncomingMessage, ServerResponse } from 'node:http';

export type RouteHandler = (
  req: IncomingMessage,
  res: ServerResponse,
  params: Record<string, string>,
) => void | Promise<void>;

export interface Route {
  method: 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE';
  /** A path such as `/scim/v2/Users/:id`; `:name` matches one segment. */
  path: string;
  handler: RouteHandler;
}

interface CompiledRoute extends Route {
  pattern: RegExp;
  names: string[];
}

function compile(route: Route): CompiledRoute {
  const names: string[] = [];
  const source = route.path
    .split('/')
    .map((segment) => {
      if (segment.startsWith(':')) {
        names.push(segment.slice(1));
        return '([^/]+)';
      }
      return segment.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
    })
    .join('/');
  return { ...route, pattern: new RegExp(`^${source}/?$`), names };
}

/**
 * A request target that cannot be understood: a percent-escape that does not decode to UTF-8 in a
 * route parameter, or an absolute-form URL that does not parse. The server answers 400.
 */
export class MalformedUrlError extends Error {
  constructor(detail: string) {
    super(detail);
    this.name = 'MalformedUrlError';
  }
}

export interface Match {
  handler: RouteHandler;
  params: Record<string, string>;
}

/** A method-and-path table. `match` says 404 (no path) apart from 405 (path, other method). */
export class Router {
  private readonly routes: CompiledRoute[] = [];

  add(...routes: Route[]): this {
    for (const route of routes) this.routes.push(compile(route));
    return this;
  }

  /** Throws MalformedUrlError when a parameter does not percent-decode. */
  match(method: string, pathname: string): Match | { status: 404 } | { status: 405; allow: string[] } {
    const allow: string[] = [];
    for (const route of this.routes) {
      const m = route.pattern.exec(pathname);
      if (!m) continue;
      if (route.method !== method) {
        allow.push(route.method);
        continue;
      }
      const params: Record<string, string> = {};
      route.names.forEach((name, i) => {
        try {
          params[name] = decodeURIComponent(m[i + 1] ?? '');
        } catch {
          // URIError from a client's bad escape (`%E0%A4%A`): theirs to fix, not a server failure.
          throw new MalformedUrlError(`the path segment for ${name} has a percent-escape that is not valid UTF-8`);
        }
      });
      return { handler: route.handler, params };
    }
    return allow.length > 0 ? { status: 405, allow } : { status: 404 };
  }
}
