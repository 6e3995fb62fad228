import { readFileSync } from 'node:fs';
import { QmpUsageError } from '../errors/index.js';
import { parseAddress } from '../transport/index.js';

/**
 * A named set of rules: `allow` (when given, only these) and `deny` (never these). `*` is a wildcard.
 * `transaction:ACTION` entries name the actions a `transaction` may carry. `paths` lists the host
 * path prefixes arguments may name (a file, a socket, a directory); any other host path is refused,
 * and `"*"` allows every host path, scripts and shell commands included.
 */
export interface QmpProxyProfile {
  allow?: readonly string[];
  deny?: readonly string[];
  paths?: readonly string[];
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
 * `listeners` maps a listen address (`QmpProxyOptions.listen`, the CLI's `--listen`) to a profile
 * (any spelling of the same address matches: `/run/x.sock`, `unix:/run/x.sock`; a `tls:` prefix is
 * ignored); `clients` maps a TLS client certificate's CN, which takes precedence. Built-in profiles: `full` (everything) and `read-only`.
 * Wherever a profile is named, an inline `{ "allow": [...], "deny": [...] }` may stand instead.
 */
export interface QmpProxyPolicyFile {
  default?: string | QmpProxyProfile;
  profiles?: Record<string, QmpProxyProfile>;
  listeners?: Record<string, string | QmpProxyProfile>;
  clients?: Record<string, string | QmpProxyProfile>;
}

/** Built-in profiles. */
export const BUILTIN_PROFILES: Readonly<Record<string, QmpProxyProfile>> = {
  full: { paths: ['*'] },
  'read-only': { allow: ['query-*', 'qom-get', 'qom-list'] },
};

/** One spelling per address: `unix:PATH` or `tcp:HOST:PORT`; anything unparsable as written. */
export function listenerKey(address: string): string {
  const text = address.startsWith('tls:') ? address.slice(4) : address;
  try {
    const a = parseAddress(text);
    if (a.kind === 'unix') return `unix:${a.path}`;
    if (a.kind === 'tcp') return `tcp:${a.host}:${a.port}`;
  } catch {
    // Not an address: compared as written.
  }
  return text;
}

const FILE_MEMBERS = new Set(['default', 'profiles', 'listeners', 'clients']);

function globToRegExp(glob: string): RegExp {
  return new RegExp(`^${glob.replace(/[.+?^${}()|[\]\\]/g, '\\$&').replaceAll('*', '.*')}$`);
}

/** A compiled profile. */
export class QmpProxyRules {
  readonly name: string;
  readonly #allow: RegExp[] | undefined;
  readonly #deny: RegExp[];
  readonly #paths: readonly string[];
  readonly #anyPath: boolean;

  constructor(name: string, profile: QmpProxyProfile) {
    this.name = name;
    this.#allow = profile.allow?.map(globToRegExp);
    this.#deny = (profile.deny ?? []).map(globToRegExp);
    this.#anyPath = profile.paths?.includes('*') ?? false;
    // A prefix is a directory: `/srv/dumps` allows `/srv/dumps/x`, not `/srv/dumps-other/x`.
    this.#paths = (profile.paths ?? []).filter((p) => p !== '*').map((p) => (p.endsWith('/') ? p : `${p}/`));
  }

  /** True when the profile forwards everything, host paths included (like the built-in `full`). */
  get fullAccess(): boolean {
    return this.#allow === undefined && this.#deny.length === 0 && this.#anyPath;
  }

  /** True when `command` may be forwarded. */
  allows(command: string): boolean {
    if (this.#deny.some((r) => r.test(command))) return false;
    return this.#allow === undefined || this.#allow.some((r) => r.test(command));
  }

  /**
   * True when a `transaction` may carry an action of type `action`: `transaction:ACTION` is allowed
   * and neither it nor the command of the same name is denied (a denied command cannot be smuggled
   * in as an action).
   */
  allowsAction(action: string): boolean {
    if (this.#deny.some((r) => r.test(action))) return false;
    return this.allows(`transaction:${action}`);
  }

  /** True when every host path may be named (`paths: ["*"]`): needed for scripts, `exec:` and HMP. */
  get allowsAnyPath(): boolean {
    return this.#anyPath;
  }

  /** True when `path` (absolute, no `..`) lies under one of the profile's `paths`. */
  allowsPath(path: string): boolean {
    if (this.#anyPath) return true;
    if (!path.startsWith('/') || path.split('/').some((seg) => seg === '..' || seg === '.')) return false;
    return this.#paths.some((prefix) => path.startsWith(prefix));
  }
}

/** The proxy's policy: which profile applies to a connection. */
export class QmpProxyPolicy {
  readonly #profiles = new Map<string, QmpProxyRules>();
  /** The profiles a policy may name: built-in and `profiles` (not the inline ones). */
  readonly #named: string[];
  readonly #listeners = new Map<string, string>();
  readonly #clients = new Map<string, string>();
  readonly #default: string;

  constructor(file: QmpProxyPolicyFile = {}) {
    for (const key of Object.keys(file)) {
      // A misspelt member would silently leave a listener with full access.
      if (!FILE_MEMBERS.has(key))
        throw new QmpUsageError(`policy: unknown member '${key}' (expected ${[...FILE_MEMBERS].join(', ')})`);
    }
    const profiles = file.profiles ?? {};
    if (typeof profiles !== 'object' || profiles === null || Array.isArray(profiles))
      throw new QmpUsageError('policy: profiles must be an object of named profiles');
    const named = { ...BUILTIN_PROFILES, ...profiles };
    for (const [name, p] of Object.entries(named)) this.#addProfile(name, p);
    this.#named = Object.keys(named);
    for (const [address, profile] of Object.entries(this.#map(file.listeners, 'listeners'))) {
      const key = listenerKey(address);
      this.#listeners.set(key, this.#profileRef(profile, `listener ${key}`));
    }
    for (const [cn, profile] of Object.entries(this.#map(file.clients, 'clients')))
      this.#clients.set(cn, this.#profileRef(profile, `client ${cn}`));
    this.#default = this.#profileRef(file.default ?? 'full', 'default');
  }

  #map(v: unknown, what: string): Record<string, unknown> {
    if (v === undefined) return {};
    if (typeof v !== 'object' || v === null || Array.isArray(v))
      throw new QmpUsageError(`policy: ${what} must be an object mapping to profiles`);
    return v as Record<string, unknown>;
  }

  #addProfile(name: string, p: unknown): void {
    if (typeof p !== 'object' || p === null || Array.isArray(p))
      throw new QmpUsageError(`policy: profile '${name}' must be an object`);
    for (const key of Object.keys(p)) {
      if (key !== 'allow' && key !== 'deny' && key !== 'paths')
        throw new QmpUsageError(`policy: profile '${name}' has unknown member '${key}' (expected allow, deny, paths)`);
    }
    const { allow, deny, paths } = p as { allow?: unknown; deny?: unknown; paths?: unknown };
    for (const list of [allow, deny, paths]) {
      if (list !== undefined && (!Array.isArray(list) || !list.every((x) => typeof x === 'string'))) {
        throw new QmpUsageError(`policy: profile '${name}': allow/deny/paths must be lists of strings`);
      }
    }
    for (const path of (paths ?? []) as string[]) {
      // A relative prefix would be resolved against QEMU's working directory, which the proxy does not know.
      if (path !== '*' && (!path.startsWith('/') || path.split('/').includes('..')))
        throw new QmpUsageError(`policy: profile '${name}': paths must be absolute directories or "*", not '${path}'`);
    }
    this.#profiles.set(name, new QmpProxyRules(name, p as QmpProxyProfile));
  }

  /** A profile name, checked, or an inline profile registered under `inlineName`. */
  #profileRef(ref: unknown, inlineName: string): string {
    if (typeof ref === 'string') {
      if (!this.#profiles.has(ref))
        throw new QmpUsageError(
          `policy: unknown profile '${ref}' (for ${inlineName}); the profiles are ${this.#named.join(', ')}`,
        );
      return ref;
    }
    this.#addProfile(inlineName, ref);
    return inlineName;
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

  /** The listeners the policy names, one spelling each (see {@link listenerKey}). */
  listenerKeys(): string[] {
    return [...this.#listeners.keys()];
  }

  /** The rules for a client of `listener` (as given in `listen`), with a TLS certificate CN if any. */
  rulesFor(listener: string, clientCn?: string): QmpProxyRules {
    const name =
      (clientCn !== undefined ? this.#clients.get(clientCn) : undefined) ??
      this.#listeners.get(listenerKey(listener)) ??
      this.#default;
    return this.#profiles.get(name) ?? new QmpProxyRules('full', BUILTIN_PROFILES['full'] ?? {});
  }
}
