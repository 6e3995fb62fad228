import { readFileSync } from 'node:fs';
import { QmpUsageError } from '../errors/index.js';

/** A named set of rules: `allow` (when given, only these) and `deny` (never these). `*` is a wildcard. */
export interface QmpProxyProfile {
  allow?: readonly string[];
  deny?: readonly string[];
}

/**
 * The policy file (JSON):
 * ```json
 * {
 *   "default": "full",
 *   "profiles": { "monitoring": { "allow": ["query-*", "qom-get", "qom-list"] } },
 *   "listeners": { "unix:/run/vm1/ro.sock": "read-only" },
 *   "clients": { "backup-agent": "monitoring" }
 * }
 * ```
 * `listeners` maps a `--listen` address (as written) to a profile; `clients` maps a TLS client
 * certificate's CN, which takes precedence. Built-in profiles: `full` (everything) and `read-only`.
 */
export interface QmpProxyPolicyFile {
  default?: string;
  profiles?: Record<string, QmpProxyProfile>;
  listeners?: Record<string, string>;
  clients?: Record<string, string>;
}

/** Built-in profiles. */
export const BUILTIN_PROFILES: Readonly<Record<string, QmpProxyProfile>> = {
  full: {},
  'read-only': { allow: ['query-*', 'qom-get', 'qom-list'] },
};

function globToRegExp(glob: string): RegExp {
  return new RegExp(`^${glob.replace(/[.+?^${}()|[\]\\]/g, '\\$&').replaceAll('*', '.*')}$`);
}

/** A compiled profile. */
export class QmpProxyRules {
  readonly name: string;
  readonly #allow: RegExp[] | undefined;
  readonly #deny: RegExp[];

  constructor(name: string, profile: QmpProxyProfile) {
    this.name = name;
    this.#allow = profile.allow?.map(globToRegExp);
    this.#deny = (profile.deny ?? []).map(globToRegExp);
  }

  /** True when `command` may be forwarded. */
  allows(command: string): boolean {
    if (this.#deny.some((r) => r.test(command))) return false;
    return this.#allow === undefined || this.#allow.some((r) => r.test(command));
  }
}

/** The proxy's policy: which profile applies to a connection. */
export class QmpProxyPolicy {
  readonly #profiles = new Map<string, QmpProxyRules>();
  readonly #listeners: Record<string, string>;
  readonly #clients: Record<string, string>;
  readonly #default: string;

  constructor(file: QmpProxyPolicyFile = {}) {
    for (const [name, p] of Object.entries({ ...BUILTIN_PROFILES, ...(file.profiles ?? {}) })) {
      if (typeof p !== 'object' || p === null) throw new QmpUsageError(`policy: profile '${name}' must be an object`);
      for (const key of Object.keys(p)) {
        if (key !== 'allow' && key !== 'deny')
          throw new QmpUsageError(`policy: profile '${name}' has unknown member '${key}'`);
      }
      for (const list of [p.allow, p.deny]) {
        if (list !== undefined && (!Array.isArray(list) || !list.every((x) => typeof x === 'string'))) {
          throw new QmpUsageError(`policy: profile '${name}': allow/deny must be lists of command names`);
        }
      }
      this.#profiles.set(name, new QmpProxyRules(name, p));
    }
    this.#listeners = { ...(file.listeners ?? {}) };
    this.#clients = { ...(file.clients ?? {}) };
    this.#default = file.default ?? 'full';
    for (const name of [this.#default, ...Object.values(this.#listeners), ...Object.values(this.#clients)]) {
      if (!this.#profiles.has(name)) throw new QmpUsageError(`policy: unknown profile '${name}'`);
    }
  }

  /** Reads a policy file. */
  static fromFile(path: string): QmpProxyPolicy {
    let parsed: unknown;
    try {
      parsed = JSON.parse(readFileSync(path, 'utf8'));
    } catch (err) {
      throw new QmpUsageError(`policy ${path}: ${err instanceof Error ? err.message : String(err)}`);
    }
    if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed))
      throw new QmpUsageError(`policy ${path}: expected a JSON object`);
    return new QmpProxyPolicy(parsed as QmpProxyPolicyFile);
  }

  /** The rules for a client of `listener` (as given to --listen), with a TLS certificate CN if any. */
  rulesFor(listener: string, clientCn?: string): QmpProxyRules {
    const name =
      (clientCn !== undefined ? this.#clients[clientCn] : undefined) ?? this.#listeners[listener] ?? this.#default;
    return this.#profiles.get(name) ?? new QmpProxyRules('full', {});
  }
}
