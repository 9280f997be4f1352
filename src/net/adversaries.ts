/** Behaviours of dishonest miners, for local networks and tests (each one is something the validator must catch). */
export const ADVERSARY_KINDS = ['free-rider', 'copycat', 'noise', 'stale', 'late', 'desynced', 'poisoner'] as const;
export type AdversaryKind = (typeof ADVERSARY_KINDS)[number];

export function isAdversaryKind(x: string): x is AdversaryKind {
  return (ADVERSARY_KINDS as readonly string[]).includes(x);
}
