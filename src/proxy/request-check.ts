import type { QValue } from '../wire/index.js';
import { hostPathArguments } from './host-paths.js';
import type { QmpProxyRules } from './policy.js';

function actionsOf(
  args: ReadonlyMap<string, QValue>,
): Array<{ type: string; data: ReadonlyMap<string, QValue> }> | string {
  const actions = args.get('actions');
  if (!Array.isArray(actions)) return 'its actions are not a list';
  const out: Array<{ type: string; data: ReadonlyMap<string, QValue> }> = [];
  for (const a of actions) {
    const type = a instanceof Map ? a.get('type') : undefined;
    if (!(a instanceof Map) || typeof type !== 'string') return 'an action has no type';
    const data = a.get('data');
    out.push({ type, data: data instanceof Map ? data : new Map() });
  }
  return out;
}

function pathDenial(
  rules: QmpProxyRules,
  command: string,
  args: ReadonlyMap<string, QValue>,
  where: string,
): string | undefined {
  for (const p of hostPathArguments(command, args)) {
    if (p.opaque ? rules.allowsAnyPath : rules.allowsPath(p.path)) continue;
    const what = p.opaque ? 'runs a program or command on the host' : `names the host path ${JSON.stringify(p.path)}`;
    return `The argument '${p.member}' of ${where} ${what}, which this proxy's policy does not allow (profile '${rules.name}')`;
  }
  return undefined;
}

/**
 * Why the proxy refuses `command` with `args` for a client under `rules`, or undefined when it may
 * be forwarded. The text is the `desc` of a QEMU-shaped `GenericError`.
 */
export function requestDenial(
  rules: QmpProxyRules,
  command: string,
  args: ReadonlyMap<string, QValue>,
): string | undefined {
  if (!rules.allows(command))
    return `The command ${command} is not allowed by this proxy's policy (profile '${rules.name}')`;
  if (command === 'transaction' && !rules.fullAccess) {
    // Each action is a command in its own right: checked as `transaction:TYPE`, with its own paths.
    const actions = actionsOf(args);
    // Malformed: QEMU refuses it with its own error, and nothing in it can run.
    if (typeof actions === 'string') return undefined;
    for (const { type, data } of actions) {
      if (!rules.allowsAction(type))
        return `The transaction action ${type} is not allowed by this proxy's policy (profile '${rules.name}')`;
      const denial = pathDenial(rules, type, data, `transaction action ${type}`);
      if (denial !== undefined) return denial;
    }
    return undefined;
  }
  return rules.allowsAnyPath ? undefined : pathDenial(rules, command, args, command);
}
