/**
 * Phase "lead": this validator posts window w's manifest when the slot open now is its own and no manifest of an
 * earlier slot counts (protocol/manifest-slots.ts). It runs right after the manifest is built and again while the
 * validator waits for the window's manifest, so a validator takes over within one slot when the leader is gone. A
 * manifest this validator posted earlier is replaced only when it does not count (it landed outside its slot).
 */
import { aggregatorKey, encodeAggregatorManifest, type AggregatorManifest } from '../../protocol/index.ts';
import type { ManifestLookup } from '../../node/manifest-source.ts';
import type { ObjectStore } from '../../storage/index.ts';
import type { NodeEvents } from '../../node/events.ts';

export interface LeadInput {
  readonly window: number;
  /** This validator's uid. */
  readonly uid: number;
  readonly manifest: AggregatorManifest;
  readonly slots: { manifestFor(w: number): Promise<ManifestLookup> };
  /** This validator's own bucket. */
  readonly store: Pick<ObjectStore, 'put' | 'head'>;
  readonly events: NodeEvents;
}

/** The slot the manifest was posted in now, or null when this validator is not the one to post. */
export async function offerManifest(input: LeadInput): Promise<number | null> {
  const { window: w, manifest } = input;
  const found = await input.slots.manifestFor(w);
  if (found.status === 'accepted' || found.candidate !== null) return null;
  if (found.openSlot === null || found.openSlotOwner !== input.uid) return null;
  const key = aggregatorKey(w, manifest.version);
  const earlier = await input.store.head(key);
  if (earlier !== null && !found.ignored.some((x) => x.uid === input.uid)) return null;
  await input.store.put(key, encodeAggregatorManifest(manifest));
  input.events.emit('manifest', { window: w, uids: manifest.entries.map((e) => e.uid), skipped: manifest.skippedUids, slot: found.openSlot });
  return found.openSlot;
}
