/** Where the benches and tests find headless Chromium (scripts/install-system-deps.sh installs it). */
import { existsSync } from 'node:fs';

export const CHROMIUM = '/usr/bin/chromium';

/** Why Chromium cannot run here, or null. */
export function chromiumMissing(): string | null {
  return existsSync(CHROMIUM) ? null : `${CHROMIUM} is missing (scripts/install-system-deps.sh installs it)`;
}
