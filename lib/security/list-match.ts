// Which lists a pattern set admits. Patterns are exact names or globs with
// `*` (any run of characters) and `?` (one character); null admits all.
// Pure: used for subscriber filters and for per-peer authorization.

export type ListMatcher = (list: string) => boolean;

export const ALL_LISTS: ListMatcher = () => true;

export function listMatcher(patterns: readonly string[] | null): ListMatcher {
  if (patterns === null) return ALL_LISTS;
  if (patterns.includes("*")) return ALL_LISTS;
  const exact = new Set(patterns.filter((p) => !/[*?]/.test(p)));
  const globs = patterns.filter((p) => /[*?]/.test(p)).map(globToRegExp);
  if (globs.length === 0) return (list) => exact.has(list);
  return (list) => exact.has(list) || globs.some((re) => re.test(list));
}

/** Both matchers must admit the list. */
export function bothMatch(a: ListMatcher, b: ListMatcher): ListMatcher {
  if (a === ALL_LISTS) return b;
  if (b === ALL_LISTS) return a;
  return (list) => a(list) && b(list);
}

function globToRegExp(glob: string): RegExp {
  const body = glob.replace(/[.+^${}()|[\]\\]/g, "\\$&").replace(/\*/g, ".*").replace(/\?/g, ".");
  return new RegExp(`^${body}$`);
}
