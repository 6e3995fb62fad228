// Compatibility ranges: one command map and one event map for code that must work on every QEMU
// release in a range. Types only: no runtime code.
import type { QemuReleaseMaps, QemuReleaseOrder } from './releases.js';

/** A release whose types ship with qmpkit: `'7.2'`, `'10.0'`, ... */
export type QemuReleaseName = QemuReleaseOrder[number];

/**
 * The type of something a release in the range lacks. An argument of this type cannot be passed
 * and a member of it cannot be used, and the compiler's message names the release:
 * `Type 'boolean' is not assignable to type 'NotInQemu<"8.2">'`.
 */
export interface NotInQemu<R extends string> {
  readonly 'not in QEMU': R;
}

/** The releases from `From` to `To`, both included, oldest first (empty when `To` is older than `From`). */
export type QemuReleaseRange<
  From extends QemuReleaseName,
  To extends QemuReleaseName,
  Order extends readonly string[] = QemuReleaseOrder,
  Acc extends string[] = [],
> = Order extends readonly [infer H extends string, ...infer T extends string[]]
  ? Acc extends []
    ? H extends From
      ? H extends To
        ? [H]
        : QemuReleaseRange<From, To, T, [H]>
      : QemuReleaseRange<From, To, T, []>
    : H extends To
      ? [...Acc, H]
      : QemuReleaseRange<From, To, T, [...Acc, H]>
  : [];

type Mode = 'in' | 'out';
type Same<A, B> = [A] extends [B] ? ([B] extends [A] ? true : false) : false;
type AllSame<Ts extends readonly unknown[]> = Ts extends readonly [infer A, infer B, ...infer Rest]
  ? Same<A, B> extends true
    ? AllSame<[B, ...Rest]>
    : false
  : true;
type IsUnion<T, U = T> = T extends unknown ? ([U] extends [T] ? false : true) : never;
type Intersect<Ts extends readonly unknown[]> = Ts extends readonly [infer A, ...infer Rest] ? A & Intersect<Rest> : unknown;
/** The branches of the first union that every other one accepts (intersecting unions would multiply them out). */
type ExtractAll<Ts extends readonly unknown[]> = Ts extends readonly [infer A, infer B, ...infer Rest]
  ? ExtractAll<[Extract<A, B>, ...Rest]>
  : Ts[0];
type UnionOf<Ts extends readonly unknown[]> = Ts[number];
/** The first release in `Rs` whose type in `Ts` lacks key `K`. */
type FirstLacking<Ts extends readonly unknown[], Rs extends readonly string[], K> = Ts extends readonly [
  infer A,
  ...infer TRest,
]
  ? Rs extends readonly [infer R extends string, ...infer RRest extends string[]]
    ? K extends keyof A
      ? FirstLacking<TRest, RRest, K>
      : R
    : never
  : never;
type Prop<Ts extends readonly unknown[], K> = { [I in keyof Ts]: K extends keyof Ts[I] ? Exclude<Ts[I][K], undefined> : never };
type AnyOptional<Ts extends readonly unknown[], K> = true extends {
  [I in keyof Ts]: K extends keyof Ts[I] ? (undefined extends Ts[I][K] ? true : false) : false;
}[number]
  ? true
  : false;
type AllOptional<Ts extends readonly unknown[], K> = false extends {
  [I in keyof Ts]: K extends keyof Ts[I] ? (undefined extends Ts[I][K] ? true : false) : true;
}[number]
  ? false
  : true;
type IsPlainObject<T> = T extends readonly unknown[] ? false : T extends object ? true : false;
type AllPlainObjects<Ts extends readonly unknown[]> = false extends { [I in keyof Ts]: IsPlainObject<Ts[I]> }[number]
  ? false
  : true;
type AllArrays<Ts extends readonly unknown[]> = false extends {
  [I in keyof Ts]: Ts[I] extends readonly unknown[] ? true : false;
}[number]
  ? false
  : true;
type AllStringLiterals<Ts extends readonly unknown[]> = false extends {
  [I in keyof Ts]: [Ts[I]] extends [string] ? (string extends Ts[I] ? false : true) : false;
}[number]
  ? false
  : true;
type Elements<Ts extends readonly unknown[]> = { [I in keyof Ts]: Ts[I] extends readonly (infer E)[] ? E : never };
/** Values some release in the range lacks, as `'v (not in QEMU 8.2)'`: the compiler lists them when one is passed. */
type MissingValues<Ts extends readonly unknown[], Rs extends readonly string[], All> = {
  [I in keyof Ts]: I extends keyof Rs
    ? Exclude<All, Ts[I]> extends infer V extends string
      ? `${V} (not in QEMU ${Rs[I] & string})`
      : never
    : never;
}[number];

type AllKeys<Ts extends readonly unknown[]> = Ts[number] extends infer U ? (U extends unknown ? keyof U : never) : never;
type CommonKeys<Ts extends readonly unknown[]> = Ts extends readonly [infer A, ...infer Rest]
  ? keyof A & CommonKeys<Rest>
  : PropertyKey;
type Optional<Ts extends readonly unknown[], K, M extends Mode> = M extends 'in' ? AllOptional<Ts, K> : AnyOptional<Ts, K>;
type MergeObjects<Ts extends readonly unknown[], Rs extends readonly string[], M extends Mode> = {
  [K in CommonKeys<Ts> as Optional<Ts, K, M> extends true ? K : never]?: Merge<Prop<Ts, K>, Rs, M>;
} & {
  [K in CommonKeys<Ts> as Optional<Ts, K, M> extends true ? never : K]: Merge<Prop<Ts, K>, Rs, M>;
} & {
  [K in Exclude<AllKeys<Ts>, CommonKeys<Ts>>]?: NotInQemu<FirstLacking<Ts, Rs, K>>;
};

/**
 * One type for every release's version of a type (`Ts`, one per release in `Rs`): equal types stay
 * as they are; objects keep the members all releases have (required in arguments when any release
 * requires them) and give each other member the type {@link NotInQemu}; enums accept the values all
 * releases accept (`'in'`) or hold what any release may send (`'out'`); unions (flat unions,
 * alternates) keep the branches every release accepts (`'in'`) or any may send (`'out'`); anything
 * else is the intersection.
 */
export type Merge<Ts extends readonly unknown[], Rs extends readonly string[], M extends Mode> =
  AllSame<Ts> extends true
    ? Ts[0]
    : AllStringLiterals<Ts> extends true
      ? M extends 'in'
        ? Intersect<Ts> | MissingValues<Ts, Rs, UnionOf<Ts>>
        : UnionOf<Ts>
      : AllArrays<Ts> extends true
        ? Merge<Elements<Ts>, Rs, M>[]
        : AllPlainObjects<Ts> extends true
          ? true extends { [I in keyof Ts]: IsUnion<Ts[I]> }[number]
            ? M extends 'in'
              ? ExtractAll<Ts>
              : UnionOf<Ts>
            : MergeObjects<Ts, Rs, M>
          : Intersect<Ts>;

type CommandsOf<Rs extends readonly string[]> = {
  [I in keyof Rs]: Rs[I] extends keyof QemuReleaseMaps ? QemuReleaseMaps[Rs[I]]['commands'] : never;
};
type EventsOf<Rs extends readonly string[]> = {
  [I in keyof Rs]: Rs[I] extends keyof QemuReleaseMaps ? QemuReleaseMaps[Rs[I]]['events'] : never;
};
type SpecsOf<Cs extends readonly unknown[], K> = { [I in keyof Cs]: K extends keyof Cs[I] ? Cs[I][K] : never };
type ArgsOf<Ss extends readonly unknown[]> = { [I in keyof Ss]: Ss[I] extends { args: infer A } ? A : never };
type ReturnsOf<Ss extends readonly unknown[]> = { [I in keyof Ss]: Ss[I] extends { returns: infer A } ? A : never };
type MergeArgs<As extends readonly unknown[], Rs extends readonly string[]> =
  AllSame<As> extends true
    ? As[0]
    : undefined extends UnionOf<As>
      ? Merge<{ [I in keyof As]: Exclude<As[I], undefined> }, Rs, 'in'> | undefined
      : Merge<As, Rs, 'in'>;

/** The command map of the releases `Rs` together; see {@link Compat}. */
export type CompatCommandsOf<Rs extends readonly string[]> = {
  [K in AllKeys<CommandsOf<Rs>>]: [FirstLacking<CommandsOf<Rs>, Rs, K>] extends [never]
    ? {
        args: MergeArgs<ArgsOf<SpecsOf<CommandsOf<Rs>, K>>, Rs>;
        returns: Merge<ReturnsOf<SpecsOf<CommandsOf<Rs>, K>>, Rs, 'out'>;
      }
    : { args: NotInQemu<FirstLacking<CommandsOf<Rs>, Rs, K>>; returns: NotInQemu<FirstLacking<CommandsOf<Rs>, Rs, K>> };
};

/** The event map of the releases `Rs` together; see {@link CompatEvents}. */
export type CompatEventsOf<Rs extends readonly string[]> = {
  [K in AllKeys<EventsOf<Rs>>]: [FirstLacking<EventsOf<Rs>, Rs, K>] extends [never]
    ? AllSame<SpecsOf<EventsOf<Rs>, K>> extends true
      ? SpecsOf<EventsOf<Rs>, K>[0]
      : undefined extends UnionOf<SpecsOf<EventsOf<Rs>, K>>
        ? Merge<{ [I in keyof SpecsOf<EventsOf<Rs>, K>]: Exclude<SpecsOf<EventsOf<Rs>, K>[I], undefined> }, Rs, 'out'>
        : Merge<SpecsOf<EventsOf<Rs>, K>, Rs, 'out'>
    : NotInQemu<FirstLacking<EventsOf<Rs>, Rs, K>>;
};

/**
 * A command map for code that must work on every release from `From` to `To`: use it as
 * `QmpClient<Compat<'7.2', '10.0'>, CompatEvents<'7.2', '10.0'>>`. A command, argument or enum value
 * that a release in the range lacks is a compile error that names that release; an argument whose
 * type changed takes the type every release accepts; a result member some release lacks has the
 * type {@link NotInQemu}.
 */
export type Compat<From extends QemuReleaseName, To extends QemuReleaseName> = CompatCommandsOf<
  QemuReleaseRange<From, To>
>;

/**
 * The event map that goes with {@link Compat}: an event or member some release in the range lacks
 * has the type {@link NotInQemu}, so using it is a compile error that names that release.
 */
export type CompatEvents<From extends QemuReleaseName, To extends QemuReleaseName> = CompatEventsOf<
  QemuReleaseRange<From, To>
>;
